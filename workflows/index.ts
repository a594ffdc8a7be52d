/** Workflow bundle entry (`workflowsPath`): only deterministic code is reachable from here. */
export { subscriptionWorkflow } from './subscription.js';
