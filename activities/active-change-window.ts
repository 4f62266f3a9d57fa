import type { Client } from '@temporalio/client';
import { activeWindow } from '../domain/change-windows.js';
import { tenantSettingsId, tenantSettingsQuery } from '../workflows/tenant-settings.js';

/**
 * The tenant's change window `at` falls in, if any (the release passes its own clock, so that a replayed or
 * time-skipped workflow asks about its time). A tenant that never set windows has none.
 */
export function createActiveChangeWindow(temporal: Client) {
  return async function activeChangeWindow(input: {
    tenant: string;
    at: string;
  }): Promise<{ name: string; until: string; reason?: string } | null> {
    const settings = await temporal.workflow
      .getHandle(tenantSettingsId(input.tenant))
      .query(tenantSettingsQuery)
      .catch((err: unknown) => {
        if ((err as Error).name === 'WorkflowNotFoundError') return undefined;
        throw err;
      });
    return (settings && activeWindow(settings.changeWindows, new Date(input.at))) ?? null;
  };
}
