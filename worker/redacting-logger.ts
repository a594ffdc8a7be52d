import { DefaultLogger, type LogEntry, type LogLevel } from '@temporalio/worker';

/** Metadata keys whose values are always replaced, wherever they appear. */
const SECRET_KEY = /secret|password|token|authorization|api[-_]?key|regkey(?!masked)|sealed|cookie/i;
/** LINE Pay regKeys look like `RK` + 13 upper-case alphanumerics; mask any that slip into text. */
const REGKEY_LIKE = /\bRK[0-9A-Z]{8,}\b/g;

/**
 * Removes known secret values, regKey-looking strings and secret-named fields from a log value.
 * Depth-limited so a cyclic or huge object cannot stall logging.
 */
export function redact(value: unknown, secrets: readonly string[], depth = 0): unknown {
  if (typeof value === 'string') {
    let out = value;
    for (const s of secrets) if (s.length >= 4) out = out.split(s).join('[redacted]');
    return out.replace(REGKEY_LIKE, (m) => `${m.slice(0, 2)}…${m.slice(-4)}`);
  }
  if (value === null || typeof value !== 'object') return value;
  if (depth > 6) return '[truncated]';
  if (value instanceof Error) {
    return {
      name: value.name,
      message: redact(value.message, secrets, depth + 1),
      stack: redact(value.stack, secrets, depth + 1),
    };
  }
  if (Array.isArray(value)) return value.slice(0, 50).map((v) => redact(v, secrets, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = SECRET_KEY.test(k) ? '[redacted]' : redact(v, secrets, depth + 1);
  }
  return out;
}

/**
 * The SDK runtime logger: one JSON object per line on stderr (structured, greppable), with secrets
 * redacted from both message and metadata before anything is written.
 */
export function createRedactingLogger(level: LogLevel, secrets: readonly string[]): DefaultLogger {
  const known = [...new Set(secrets.filter((s) => s.length >= 4))];
  return new DefaultLogger(level, (entry: LogEntry) => {
    const line = {
      time: new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString(),
      level: entry.level,
      message: redact(entry.message, known),
      ...(redact(entry.meta ?? {}, known) as Record<string, unknown>),
    };
    process.stderr.write(`${safeStringify(line)}\n`);
  });
}

function safeStringify(value: unknown): string {
  try {
    return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  } catch {
    return JSON.stringify({ level: 'ERROR', message: 'unserializable log entry' });
  }
}
