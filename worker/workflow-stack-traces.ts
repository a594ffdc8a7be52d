/**
 * Turns off the SDK's workflow stack-trace tracking unless `WORKER_WORKFLOW_STACK_TRACES=on`. Loaded
 * with `node --import` (npm run start:worker, the image, the burst bench), so that it also runs in the
 * SDK's workflow threads, which no code of ours reaches otherwise.
 *
 * Why: the SDK installs a promise hook that captures and source-maps a stack trace for every promise
 * workflow code creates, only to answer the `__stack_trace` query (the Web UI's "Stack Trace" tab). In
 * a month-start burst it was about 40 % of the workflow thread's CPU (bench/burst/README.md). Billing
 * workflows say what they wait for in their current details and timer summaries instead.
 *
 * How: the SDK treats a `createHook` that throws as a runtime without promise hooks (its path for Bun):
 * the query then answers "Workflow stack traces are not enabled on this worker", and errors keep their
 * stacks. Only the SDK's call is refused; Node's own (AsyncLocalStorage) and any other pass through.
 */
import v8 from 'node:v8';
import { parseStackTraces, STACK_TRACES_ENV } from './stack-trace-setting.js';

/**
 * The SDK's stack-trace hook is installed from this module (`GlobalHandlers.setPromiseHook`): lib/…js,
 * or src/…ts when source maps are on (tsx).
 */
const SDK_CALLER = /[\\/]@temporalio[\\/]worker[\\/](?:lib|src)[\\/]workflow[\\/]vm-shared\.[jt]s/;
/** What the SDK logs when the hook is refused; it would read as a broken runtime. */
const SDK_NOTICE = 'v8.promiseHooks.createHook is not available; stack trace collection will be disabled.';

/** Wraps `createHook` so that the SDK's call throws; this module runs once per thread. */
function refuseSdkStackTraceHook(): void {
  const hooks = v8.promiseHooks;
  const createHook = hooks.createHook.bind(hooks);
  hooks.createHook = (callbacks) => {
    if (SDK_CALLER.test(new Error().stack ?? '')) {
      const warn = console.warn;
      console.warn = (...args: unknown[]) => {
        console.warn = warn;
        if (args[0] !== SDK_NOTICE) warn(...args);
      };
      throw new Error(`workflow stack traces are off (${STACK_TRACES_ENV})`);
    }
    return createHook(callbacks);
  };
}

const setting = parseStackTraces(process.env[STACK_TRACES_ENV]);
// A bad value fails start-up here too, before the SDK's threads exist (readWorkerConfig names it).
if (setting === undefined) throw new Error(`${STACK_TRACES_ENV} must be "on" or "off"`);
if (!setting) refuseSdkStackTraceHook();
