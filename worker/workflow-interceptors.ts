/**
 * Workflow interceptors, loaded into the workflow sandbox through the worker's
 * `interceptors.workflowModules` (workflow code itself is not changed). Deterministic: they
 * only remember the requestId of the workflow's input and of each `resourceChanged` signal,
 * and add it to the attributes of the workflow's log lines (which already carry workflowId
 * and runId), so SDK workflow log lines can be traced back to the SCIM request.
 *
 * Imports only @temporalio/workflow: this file runs inside the workflow isolate.
 */
import type { WorkflowInterceptorsFactory } from '@temporalio/workflow';

export const interceptors: WorkflowInterceptorsFactory = () => {
  let requestId: string | undefined;
  const take = (value: unknown) => {
    const id = (value as { requestId?: unknown } | undefined)?.requestId ?? (value as { carried?: { requestId?: unknown } } | undefined)?.carried?.requestId;
    if (typeof id === 'string' && id) requestId = id;
  };
  return {
    inbound: [
      {
        execute(input, next) {
          take(input.args[0]);
          return next(input);
        },
        handleSignal(input, next) {
          if (input.signalName === 'resourceChanged') take(input.args[0]);
          return next(input);
        },
      },
    ],
    outbound: [
      {
        getLogAttributes: (attributes, next) => next(requestId ? { ...attributes, requestId } : attributes),
      },
    ],
  };
};
