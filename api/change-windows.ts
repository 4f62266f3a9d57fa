import { WithStartWorkflowOperation, WorkflowUpdateFailedError } from '@temporalio/client';
import { ChangeWindowsSchema } from '../domain/change-windows.js';
import { DomainError, toFieldIssues } from '../domain/index.js';
import { SA } from '../workflows/search-attributes.js';
import { setChangeWindowsUpdate, tenantSettingsId, tenantSettingsQuery, type TenantSettings } from '../workflows/tenant-settings.js';
import type { ReleaseClient } from './release-client.js';

/**
 * A tenant's change windows (docs/tickets.md): validated here (400 naming the field), kept by the tenant's
 * settings workflow, which starts with the first write.
 */
export async function setChangeWindows(releases: ReleaseClient, tenant: string, windows: unknown, by: string): Promise<TenantSettings> {
  const parsed = ChangeWindowsSchema.safeParse(windows);
  if (!parsed.success)
    throw DomainError.invalid(
      toFieldIssues(parsed.error).map((i) => ({
        ...i,
        field: `windows${i.field === '(root)' ? '' : i.field.startsWith('[') ? i.field : `.${i.field}`}`,
      })),
    );
  try {
    return await releases.client.workflow.executeUpdateWithStart(setChangeWindowsUpdate, {
      args: [{ windows: parsed.data, by }],
      startWorkflowOperation: new WithStartWorkflowOperation('tenantSettings', {
        workflowId: tenantSettingsId(tenant),
        taskQueue: releases.taskQueue,
        args: [{ tenant, changeWindows: [] }],
        workflowIdConflictPolicy: 'USE_EXISTING',
        typedSearchAttributes: [
          { key: SA.tenant, value: tenant },
          { key: SA.kind, value: 'tenant' },
        ],
      }),
    });
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) throw new DomainError('INVALID_INPUT', err.cause?.message ?? err.message);
    throw err;
  }
}

export async function getChangeWindows(releases: ReleaseClient, tenant: string): Promise<TenantSettings> {
  return releases.client.workflow
    .getHandle(tenantSettingsId(tenant))
    .query(tenantSettingsQuery)
    .catch((err: unknown) => {
      if ((err as Error).name === 'WorkflowNotFoundError') return { tenant, changeWindows: [] };
      throw err;
    });
}
