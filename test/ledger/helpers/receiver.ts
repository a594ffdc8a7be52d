import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface Received {
  id: string;
  sequence: number;
  subscriptionId: string;
  type: string;
  /** What the receiver answered. */
  answered: number | 'reset' | 'hang';
  body: Record<string, unknown>;
}

type Behaviour = (req: {
  id: string;
  sequence: number;
  attempt: number;
}) => number | 'reset' | 'hang' | { status: number; body: string };

/**
 * A merchant endpoint: verifies every request with the `standardwebhooks` package (as merchants do) and
 * answers per `behaviour`. A request whose signature does not verify is recorded in `rejected`.
 */
export async function startReceiver(secret: string, behaviour: Behaviour = () => 204) {
  const wh = new Webhook(secret);
  const received: Received[] = [];
  const rejected: string[] = [];
  const attempts = new Map<string, number>();
  const hanging = new Set<ServerResponse>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const payload = Buffer.concat(chunks).toString('utf8');
      let body: Record<string, unknown>;
      try {
        body = wh.verify(payload, req.headers as Record<string, string>) as Record<string, unknown>;
      } catch (err) {
        rejected.push((err as Error).message);
        res.writeHead(400).end('bad signature');
        return;
      }
      const id = String(body.id);
      const attempt = (attempts.get(id) ?? 0) + 1;
      attempts.set(id, attempt);
      const answer = behaviour({ id, sequence: Number(body.sequence), attempt });
      const answered = typeof answer === 'object' ? answer.status : answer;
      received.push({
        id,
        sequence: Number(body.sequence),
        subscriptionId: String(body.subscriptionId),
        type: String(body.type),
        answered,
        body,
      });
      if (answer === 'reset') req.socket.destroy();
      else if (answer === 'hang') hanging.add(res);
      else if (typeof answer === 'object')
        res.writeHead(answer.status, { 'content-type': 'text/plain' }).end(answer.body);
      else res.writeHead(answer).end(answer >= 300 ? `status ${answer}` : undefined);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  return {
    url,
    received,
    rejected,
    /** Deliveries the receiver acknowledged (2xx), in arrival order. */
    accepted: () => received.filter((r) => typeof r.answered === 'number' && r.answered < 300),
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
