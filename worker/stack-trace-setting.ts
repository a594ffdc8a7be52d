/** `WORKER_WORKFLOW_STACK_TRACES`: read by worker/config.ts and by the preload that applies it. */
export const STACK_TRACES_ENV = 'WORKER_WORKFLOW_STACK_TRACES';

/** `on` keeps the SDK's workflow stack-trace tracking; unset, empty or `off` turns it off; else undefined. */
export function parseStackTraces(value: string | undefined): boolean | undefined {
  const v = value?.trim().toLowerCase();
  if (v === undefined || v === '' || v === 'off') return false;
  if (v === 'on') return true;
  return undefined;
}
