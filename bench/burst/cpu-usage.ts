/**
 * CPU seconds per process group over a window, from /proc (Linux only; elsewhere every figure is NaN).
 * The burst shares the machine's cores between the worker, the dev server, PostgreSQL and the bench
 * process (sandbox, HTTP service, webhook receiver), so a rate alone does not say whose time it was.
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface CpuGroups {
  /** The worker process. */
  worker: number;
  /** This process: the sandbox, the HTTP service and the webhook receiver. */
  bench: number;
  /** Temporal CLI dev server processes. */
  temporal: number;
  /** PostgreSQL server processes (when DATABASE_URL points at a local one). */
  postgres: number;
  /** Everything the machine did, all processes. */
  machine: number;
}

const TICK_S = 0.01; // USER_HZ is 100 on Linux.

function processTicks(pid: number): { ticks: number; comm: string; cmd: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm is in parentheses and may hold spaces; the fields after it are space separated.
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const rest = stat.slice(close + 2).split(' ');
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after comm's close.
    const ticks = Number(rest[11]) + Number(rest[12]);
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
    } catch {}
    return { ticks, comm, cmd };
  } catch {
    return undefined;
  }
}

function machineTicks(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
  return (user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0);
}

export function readCpu(workerPid: number | undefined): CpuGroups {
  const groups: CpuGroups = { worker: 0, bench: 0, temporal: 0, postgres: 0, machine: 0 };
  try {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const pid = Number(entry);
      const p = processTicks(pid);
      if (!p) continue;
      if (pid === workerPid) groups.worker += p.ticks;
      else if (pid === process.pid) groups.bench += p.ticks;
      else if (p.comm === 'postgres') groups.postgres += p.ticks;
      else if (p.comm.startsWith('temporal') || /temporal(-cli)?\s+server start-dev/.test(p.cmd))
        groups.temporal += p.ticks;
    }
    groups.machine = machineTicks();
  } catch {
    return {
      worker: Number.NaN,
      bench: Number.NaN,
      temporal: Number.NaN,
      postgres: Number.NaN,
      machine: Number.NaN,
    };
  }
  for (const k of Object.keys(groups) as (keyof CpuGroups)[]) groups[k] *= TICK_S;
  return groups;
}

/** CPU seconds spent between two readings, per group. */
export function cpuSpent(before: CpuGroups, after: CpuGroups): CpuGroups {
  return {
    worker: after.worker - before.worker,
    bench: after.bench - before.bench,
    temporal: after.temporal - before.temporal,
    postgres: after.postgres - before.postgres,
    machine: after.machine - before.machine,
  };
}

/** `worker 12.3 s, dev server 20.1 s, …` with per-item milliseconds when `count` is given. */
export function formatCpu(spent: CpuGroups, wallS: number, count: number): string {
  const part = (name: string, s: number) =>
    `${name} ${s.toFixed(1)} s (${((s * 1000) / Math.max(1, count)).toFixed(1)} ms each)`;
  const other = spent.machine - spent.worker - spent.bench - spent.temporal - spent.postgres;
  return [
    part('worker', spent.worker),
    part('dev server', spent.temporal),
    part('bench process (sandbox, HTTP, receiver)', spent.bench),
    part('postgres', spent.postgres),
    part('other', other),
    `machine ${(spent.machine / wallS).toFixed(2)} cores busy of the ${wallS.toFixed(0)} s`,
  ].join(', ');
}

/** Other processes' share of the machine over the window, when it is large enough to skew a rate. */
export function interference(spent: CpuGroups, wallS: number): string | undefined {
  const other = spent.machine - spent.worker - spent.bench - spent.temporal - spent.postgres;
  const share = other / Math.max(0.001, spent.machine);
  if (!(share > 0.1)) return undefined;
  return `WARNING: other processes used ${other.toFixed(1)} CPU s (${(share * 100).toFixed(0)} % of the machine's ${(spent.machine / wallS).toFixed(2)} busy cores): this rate is not comparable`;
}
