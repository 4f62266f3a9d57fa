import { condition } from '@temporalio/workflow';
import { activeChangeWindow } from './activity-proxies.js';
import { untilDoneOrPaused } from './cluster-steps.js';
import type { ReleaseTracker } from './release-state.js';

/**
 * At a group boundary: while the tenant has a change window open now (asked at the workflow's own time), the
 * release waits (state waiting-window, audit `window-wait` with the window and its end) and goes on by itself
 * when it ends, or at once when an admin bypasses that window (`bypass-window`, recorded). A stop (abort,
 * rollback) ends the wait.
 */
export async function respectChangeWindows(t: ReleaseTracker, tenant: string): Promise<void> {
  for (;;) {
    if (t.stopRequested) break;
    // windows that cannot be read (the settings workflow not answering) pause the release, saying so
    const asked = await untilDoneOrPaused(t, 'change-window', async () => ({
      open: await activeChangeWindow({ tenant, at: new Date().toISOString() }),
    }));
    if (!asked) break; // stopped while paused
    const { open } = asked;
    if (!open || t.bypassedWindows.has(open.name)) break;
    if (t.window?.name !== open.name || t.window.until !== open.until)
      t.record('barista', 'window-wait', `change freeze '${open.name}' until ${open.until}${open.reason ? `: ${open.reason}` : ''}`);
    t.window = open;
    t.phase('waiting-window');
    const left = Math.max(1_000, Date.parse(open.until) - Date.now());
    await condition(() => t.stopRequested || t.bypassedWindows.has(open.name), left);
  }
  if (t.window) {
    t.window = undefined;
    t.phase('running');
  }
}
