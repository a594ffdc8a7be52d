/** Activity implementations; the worker registers `createActivities(deps)`. */

export { RegKeyVault } from './regkey-vault.js';
export { type ActivityDeps, createActivities } from './subscription-activities.js';
