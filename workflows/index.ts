/** The workflows the worker registers. Workflow code is deterministic: no I/O, no clocks but the workflow's own. */
export { userLifecycle } from './user-lifecycle';
export { reconcileTenant } from './reconcile-tenant';
