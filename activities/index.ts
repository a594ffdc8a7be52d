/** Activity implementations; the worker registers `createActivities(deps)`. */
export { type ActivityDeps, createActivities } from './subscription-activities.js';
export { RegKeyVault } from './regkey-vault.js';
