import type { Client } from '@temporalio/client';
import { activeWindow } from '../domain/change-windows.js';
import { tenantSettingsId, tenantSettingsQuery } from '../workflows/tenant-settings.js';

/**
 * The tenant's change window `at` falls in, if any (the release passes its own clock, so that a replayed or
 * time-skipped workflow asks about its time). A tenant that never set windows, or whose settings workflow was
 * terminated, has none.
 */
export function createActiveChangeWindow(temporal: Client) {
  return async function activeChangeWindow(input: {
    tenant: string;
    at: string;
  }): Promise<{ name: string; until: string; reason?: string } | null> {
    const handle = temporal.workflow.getHandle(tenantSettingsId(input.tenant));
    // a settings workflow that was never started, or was terminated, holds no windows (and a closed one would need
    // a worker of its task queue to answer a query)
    const running = await handle.describe().then(
      (d) => d.status.name === 'RUNNING',
      (err: unknown) => {
        if ((err as Error).name === 'WorkflowNotFoundError') return false;
        throw err;
      },
    );
    if (!running) return null;
    const settings = await handle.query(tenantSettingsQuery);
    return (settings && activeWindow(settings.changeWindows, new Date(input.at))) ?? null;
  };
}
