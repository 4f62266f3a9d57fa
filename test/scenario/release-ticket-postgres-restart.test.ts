import { AuditStore } from '../../activities/audit-store.js';
import { TicketClient } from '../../api/ticket-client.js';
import type { TicketStatus } from '../../workflows/ticket-definitions.js';
import { eventually, uniqueName } from '../support/sandbox.js';
import { startReleaseHarness, type ReleaseHarness } from '../support/release-harness.js';
import { deployApps, registerNext, type TestApp } from '../support/deployed-apps.js';
import { expectCompleteTicketTrail, storedTicketTrail } from '../support/ticket-trail.js';

/**
 * The audit store's PostgreSQL stopped while a ticket runs and started again later: the ticket goes on meanwhile
 * (its release waits at its end for its last entries to be stored), completes, and its durable record is whole
 * (every entry of the ticket and its releases, once; the chain holds): the append activity is retried until
 * PostgreSQL answers.
 */
let h: ReleaseHarness;
let tickets: TicketClient;
let audit: AuditStore;
beforeAll(async () => {
  h = await startReleaseHarness();
  tickets = new TicketClient(h.releases);
  audit = await AuditStore.open(h.sandbox.info.auditDatabaseUrl!);
});
afterAll(async () => {
  await audit?.close();
  await h?.stop();
});

/** Every entry the ticket and its releases recorded so far, as the workflows keep them. */
async function recorded(s: TicketStatus): Promise<number> {
  const runs = s.apps.flatMap((a) => (a.release ? [a.release] : []));
  const statuses = await Promise.all(runs.map((r) => h.releases.status(r)));
  return s.audit.length + statuses.reduce((n, r) => n + r.audit.length, 0);
}

test('PostgreSQL stopped mid-ticket and started again: the ticket completes and its audit record is whole', async () => {
  const p = uniqueName('tkpg');
  const a: TestApp = { name: `${p}-a`, cells: ['rz00a'], replicasPerCell: 3 };
  const b: TestApp = { name: `${p}-b`, cells: ['rz00b'], replicasPerCell: 2 };
  await deployApps(h.releases, [a, b]);
  for (const x of [a, b]) await registerNext(h.releases, x);

  await h.sandbox.control.setStartLatency('kc1', 1000);
  let stopped = false;
  try {
    const strategy = { groups: 1, maxConcurrentPods: 1 };
    const { id } = await tickets.create(
      {
        tenant: 'acme',
        title: 'audit store restarted',
        entries: [
          { app: a.name, strategy },
          { app: b.name, dependsOn: [a.name], strategy },
        ],
      },
      'alice',
    );
    const running = await eventually(
      "a's release with a pod in progress",
      async () => {
        const s = await tickets.status('acme', id);
        const ref = s.apps.find((x) => x.app === a.name)?.release;
        const r = ref && (await h.releases.status(ref));
        return r?.pods.some((pod) => pod.state === 'in-progress') ? s : undefined;
      },
      120_000,
    );
    const atStop = await recorded(running);
    await h.sandbox.control.stopAuditDatabase();
    stopped = true;
    await expect(storedTicketTrail(audit, 'acme', id)).rejects.toThrow();

    // the ticket goes on without its store: an operator pauses and resumes it (carried to a's release), a's
    // release moves its last pod and records its end; a release ends only once its entries are stored
    await tickets.act('acme', id, 'pause', { by: 'oncall', reason: 'audit store down' });
    await tickets.act('acme', id, 'resume', { by: 'oncall', reason: 'go on' });
    const meanwhile = await eventually(
      "a's release at its end while PostgreSQL is down",
      async () => {
        const s = await tickets.status('acme', id);
        const r = await h.releases.status(s.apps.find((x) => x.app === a.name)!.release!);
        return r.audit.some((e) => e.action === 'finished') && r.audit.some((e) => e.action === 'resumed') ? s : undefined;
      },
      120_000,
    );
    expect(await recorded(meanwhile)).toBeGreaterThanOrEqual(atStop + 5); // paused, resumed (ticket and a's release), a finished
    expect(meanwhile.apps.find((x) => x.app === b.name)?.state).toBe('waiting');
    await new Promise((r) => setTimeout(r, 5_000)); // appends keep failing, their retries back off
    await h.sandbox.control.startAuditDatabase();
    stopped = false;

    const done = await tickets.result('acme', id);
    expect(done.state).toBe('succeeded');
    const stored = await expectCompleteTicketTrail(audit, h.releases, done);
    expect(stored.length).toBe(await recorded(done));
    expect(stored.length).toBeGreaterThan(atStop);
  } finally {
    if (stopped) await h.sandbox.control.startAuditDatabase();
    await h.sandbox.control.setStartLatency('kc1', 300);
  }
}, 360_000);
