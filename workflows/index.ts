/** Workflow bundle entry (`workflowsPath`): only deterministic code is reachable from here. */

export { reconciliationWorkflow } from './reconciliation.js';
export { subscriptionWorkflow } from './subscription.js';
