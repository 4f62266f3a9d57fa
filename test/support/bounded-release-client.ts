import type { ReleaseRef } from '../../api/release-client.js';
import { ReleaseClient } from '../../api/release-client.js';
import type { ReleaseStatus } from '../../workflows/release-status.js';

/** Below jest's 180 s test timeout, so a stuck release fails with its status instead of a bare timeout. */
const RESULT_DEADLINE_MS = 150_000;

/**
 * The product's ReleaseClient, with `result` bounded for tests: a release that does not end within the deadline
 * fails the test with what it is doing (state, pause, pods not done, last audit entries), which a bare jest
 * timeout on a CI machine never says. The wait is cancelled, not left polling: a long poll still retrying once
 * the file closes its connection throws from a timer into whichever test file runs next.
 */
export class BoundedReleaseClient extends ReleaseClient {
  override async result(ref: ReleaseRef | string, timeoutMs = RESULT_DEADLINE_MS): Promise<ReleaseStatus> {
    const expiry = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<'expired'>((resolve) => {
      timer = setTimeout(() => {
        expiry.abort();
        resolve('expired');
      }, timeoutMs);
    });
    const waited = this.client.withAbortSignal(expiry.signal, () => super.result(ref));
    waited.catch(() => undefined); // once expired, its cancellation is expected
    try {
      const outcome = await Promise.race([waited, expired]);
      if (outcome !== 'expired') return outcome;
    } finally {
      clearTimeout(timer);
    }
    throw new Error(`release did not end within ${timeoutMs / 1000} s: ${await this.describeStuck(ref)}`);
  }

  private async describeStuck(ref: ReleaseRef | string): Promise<string> {
    try {
      return describeRelease(await this.status(ref));
    } catch (err) {
      return `(status unavailable: ${String(err)})`;
    }
  }
}

/** What a test that gave up on a release prints: its state, pause, pods not done, gates and last audit entries. */
export function describeRelease(s: ReleaseStatus): string {
  return JSON.stringify({
    state: s.state,
    paused: s.paused,
    pods: s.pods.filter((p) => p.state !== 'done').map((p) => ({ name: p.name, state: p.state, step: p.step })),
    gates: s.gates.map((g) => ({ group: g.group, state: g.state })),
    audit: s.audit.slice(-8),
  });
}
