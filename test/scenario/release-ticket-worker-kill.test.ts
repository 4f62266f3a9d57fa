import type { ChildProcess } from 'node:child_process';
import type { V1Pod } from '@kubernetes/client-node';
import { Client, Connection } from '@temporalio/client';
import { AuditStore } from '../../activities/audit-store.js';
import type { ReleaseClient } from '../../api/release-client.js';
import { BoundedReleaseClient } from '../support/bounded-release-client.js';
import { TicketClient } from '../../api/ticket-client.js';
import { connectSandbox, eventually, uniqueName, type TestSandbox } from '../support/sandbox.js';
import { appPods, imageOf, restartsOf } from '../support/release-harness.js';
import { deployApps, registerNext, type TestApp } from '../support/deployed-apps.js';
import { expectCompleteTicketTrail } from '../support/ticket-trail.js';
import { killHard, startWorkerProcess, stopGracefully, untilPolling } from '../support/worker-process.js';

/**
 * A ticket on a worker process killed with SIGKILL in the middle of it (a release's pods half done) and started
 * again: the ticket completes, every pod of its apps was changed exactly once, in place, and its durable audit
 * record holds each entry once.
 */
const ns = 'acme-prod';
let sandbox: TestSandbox;
let connection: Connection;
let client: Client;
let releases: ReleaseClient;
let tickets: TicketClient;
let audit: AuditStore;
const taskQueue = uniqueName('ticket-kill');
const workers: ChildProcess[] = [];
const startWorker = () => {
  const w = startWorkerProcess(sandbox, taskQueue);
  workers.push(w);
  return w;
};

beforeAll(async () => {
  sandbox = await connectSandbox();
  connection = await Connection.connect({ address: sandbox.info.temporalAddress });
  client = new Client({ connection, namespace: sandbox.info.temporalNamespace });
  releases = new BoundedReleaseClient(client, taskQueue);
  tickets = new TicketClient(releases);
  audit = await AuditStore.open(sandbox.info.auditDatabaseUrl!);
});
afterAll(async () => {
  for (const w of workers) await stopGracefully(w);
  await audit?.close();
  await connection?.close();
});

const clusterOf = (x: TestApp) => (x.cells[0]!.startsWith('rz00') ? 'kc1' : 'kc2');
const identity = (p: V1Pod) => ({ name: p.metadata?.name, uid: p.metadata?.uid, ip: p.status?.podIP });

test('the worker SIGKILLed mid-ticket and restarted: the ticket completes, each pod changed once, each audit entry stored once', async () => {
  const p = uniqueName('tkill');
  const a: TestApp = { name: `${p}-a`, cells: ['rz00a'], replicasPerCell: 3 };
  const b: TestApp = { name: `${p}-b`, cells: ['rz00b'], replicasPerCell: 3 };
  const c: TestApp = { name: `${p}-c`, cells: ['rz01a'], replicasPerCell: 2 };
  let worker = startWorker();
  await untilPolling(client, taskQueue);
  await deployApps(releases, [a, b, c]);
  const podsOf = (x: TestApp) => appPods(sandbox, clusterOf(x), ns, x.name);
  const before = new Map<TestApp, V1Pod[]>();
  for (const x of [a, b, c]) {
    before.set(x, await podsOf(x));
    await registerNext(releases, x);
  }

  await sandbox.control.setStartLatency('kc1', 1000);
  try {
    const strategy = { groups: 1, maxConcurrentPods: 1 };
    const { id } = await tickets.create(
      {
        tenant: 'acme',
        title: 'killed mid-way',
        entries: [
          { app: a.name, strategy },
          { app: b.name, dependsOn: [a.name], strategy },
          { app: c.name, strategy },
        ],
      },
      'alice',
    );
    // mid-way: a's release has pods done and a pod in progress, b not started yet
    await eventually(
      "a's release half done",
      async () => {
        const ref = (await tickets.status('acme', id)).apps.find((x) => x.app === a.name)?.release;
        const s = ref && (await releases.status(ref));
        return s && s.pods.some((pod) => pod.state === 'done') && s.pods.some((pod) => pod.state === 'in-progress') ? s : undefined;
      },
      120_000,
    );
    await killHard(worker);
    worker = startWorker();

    const done = await tickets.result('acme', id);
    expect(done.state).toBe('succeeded');
    for (const x of [a, b, c]) expect(done.apps.find((y) => y.app === x.name)).toMatchObject({ state: 'succeeded', attempts: 1 });

    // each pod changed exactly once, in place: same UID and IP, the new image, one restart more
    for (const x of [a, b, c]) {
      const after = await podsOf(x);
      const was = before.get(x)!;
      expect(after.map(identity)).toEqual(was.map(identity));
      expect(after.map(imageOf)).toEqual(Array(was.length).fill(`registry.local/${x.name}:2`));
      expect(after.map(restartsOf)).toEqual(was.map((pod) => restartsOf(pod) + 1));
    }

    // the durable record: every entry of the ticket and its three releases, each once
    const stored = await expectCompleteTicketTrail(audit, releases, done);
    expect(new Set(stored.filter((e) => e.kind === 'release').map((e) => e.app))).toEqual(new Set([a.name, b.name, c.name]));
  } finally {
    await sandbox.control.setStartLatency('kc1', 300);
  }
}, 360_000);
