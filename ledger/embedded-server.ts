import { createServer, type Server, type Socket } from 'node:net';
import type { PGlite } from '@electric-sql/pglite';

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;

/** A FIFO lock: PGlite is one backend, so one client at a time may talk to it. */
class Mutex {
  #tail: Promise<void> = Promise.resolve();
  lock(): Promise<() => void> {
    let release!: () => void;
    const next = new Promise<void>((resolve) => {
      release = resolve;
    });
    const acquired = this.#tail.then(() => release);
    this.#tail = this.#tail.then(() => next);
    return acquired;
  }
}

/**
 * Serves one PGlite over the PostgreSQL wire protocol on a Unix socket, for every process that uses
 * the embedded ledger (the owner included). PGlite is a single backend session, so a client gets it
 * for a whole protocol exchange (up to Sync or a simple Query) and, when that leaves a transaction
 * open, until the transaction ends: extended-protocol messages and transactions of two clients never
 * interleave. (`@electric-sql/pglite-socket` queues per message, which lets them interleave.)
 */
export async function serveEmbedded(db: PGlite, socketPath: string): Promise<{ close(): Promise<void> }> {
  const mutex = new Mutex();
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    handleConnection(db, mutex, socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  return {
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function handleConnection(db: PGlite, mutex: Mutex, socket: Socket): void {
  let buffer = Buffer.alloc(0);
  let started = false;
  let batch: Buffer[] = [];
  let held: (() => void) | undefined;
  let chain: Promise<void> = Promise.resolve();
  let closed = false;

  const release = async () => {
    if (!held) return;
    // A client that vanished mid-transaction must not leave it open for the next one.
    if (db.isInTransaction()) await db.exec('ROLLBACK').catch(() => undefined);
    held();
    held = undefined;
  };

  const run = async (messages: Buffer[], endOfExchange = true) => {
    held ??= await mutex.lock();
    try {
      for (const [i, message] of messages.entries()) {
        await db.execProtocolRawStream(new Uint8Array(message), {
          syncToFs: i === messages.length - 1,
          onRawData: (data) => {
            if (!closed) socket.write(Buffer.from(data));
          },
        });
      }
    } finally {
      if (endOfExchange && !db.isInTransaction() && held) {
        held();
        held = undefined;
      }
    }
  };

  const drain = async () => {
    for (;;) {
      if (!started) {
        if (buffer.length < 8) return;
        const length = buffer.readInt32BE(0);
        if (buffer.length < length) return;
        const code = buffer.readInt32BE(4);
        const message = buffer.subarray(0, length);
        buffer = buffer.subarray(length);
        if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
          socket.write('N');
          continue;
        }
        if (code === CANCEL_REQUEST) {
          socket.end();
          return;
        }
        started = true;
        await run([Buffer.from(message)]);
        continue;
      }
      if (buffer.length < 5) return;
      const total = 1 + buffer.readInt32BE(1);
      if (buffer.length < total) return;
      const type = String.fromCharCode(buffer[0]!);
      const message = Buffer.from(buffer.subarray(0, total));
      buffer = buffer.subarray(total);
      if (type === 'X') {
        socket.end();
        return;
      }
      batch.push(message);
      // Sync ends an extended-protocol exchange, Query is one by itself; Flush asks for answers so far.
      if (type === 'S' || type === 'Q' || type === 'H') {
        const messages = batch;
        batch = [];
        await run(messages, type !== 'H');
      }
    }
  };

  socket.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    chain = chain.then(drain).catch(() => {
      socket.destroy();
    });
  });
  socket.on('error', () => undefined);
  socket.on('close', () => {
    closed = true;
    chain = chain.then(release, release);
  });
}
