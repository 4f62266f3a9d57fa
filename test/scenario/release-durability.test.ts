import type { ChildProcess } from 'node:child_process';
import { Client, Connection } from '@temporalio/client';
import type { ReleaseClient } from '../../api/release-client.js';
import { BoundedReleaseClient } from '../support/bounded-release-client.js';
import { connectSandbox, eventually, uniqueName, type TestSandbox } from '../support/sandbox.js';
import { appPods, imageOf, restartsOf, waitForStatus } from '../support/release-harness.js';
import { appSpec } from '../support/app-spec.js';
import { startWorkerProcess as startWorker, stopGracefully, untilPolling } from '../support/worker-process.js';

let sandbox: TestSandbox;
let connection: Connection;
let releases: ReleaseClient;
const taskQueue = uniqueName('durable');
const workers: ChildProcess[] = [];
/**
 * Each test starts a worker process (it bundles the workflows first), deploys, then releases through a fault: above
 * jest's default 180 s, so that a stuck release fails with its status from the bounded client (150 s per wait)
 * instead of a bare timeout, and a slow machine is not mistaken for a hang.
 */
const TEST_TIMEOUT_MS = 420_000;

/**
 * The real worker entry point as its own process (test/support/worker-process.ts), stopped in afterAll; resolves once a
 * worker polls the task queue: the process bundles the workflows first, which on a busy machine takes longer than the
 * API's placement check waits.
 */
async function startWorkerProcess(): Promise<ChildProcess> {
  const child = startWorker(sandbox, taskQueue);
  workers.push(child);
  await untilPolling(releases.client, taskQueue);
  return child;
}

beforeAll(async () => {
  sandbox = await connectSandbox();
  connection = await Connection.connect({ address: sandbox.info.temporalAddress });
  releases = new BoundedReleaseClient(new Client({ connection, namespace: sandbox.info.temporalNamespace }), taskQueue);
});
afterAll(async () => {
  await Promise.all(workers.map((w) => stopGracefully(w)));
  await connection?.close();
});

const spec = (name: string, image: string, tenant: string, workspace: string, cells: string[], replicasPerCell: number) =>
  appSpec(name, image, { tenant, workspace, cells, replicasPerCell });

/** Registers the App and releases it everywhere, so that a next revision has pods to change. */
async function deployed(app: ReturnType<typeof spec>): Promise<void> {
  const { revision } = await releases.upsertApp(app, 'alice');
  const ref = await releases.startRelease({ app: app.name, tenant: app.tenant, revision, requestedBy: 'alice', strategy: { groups: 1 } });
  expect((await releases.result(ref)).state).toBe('succeeded');
}

test(
  'the worker killed with SIGKILL mid-group and restarted: the release completes and every pod was upgraded exactly once',
  async () => {
    const app = uniqueName('durable');
    const cells = ['rz00a', 'rz00b'];
    let worker = await startWorkerProcess();
    await deployed(spec(app, 'registry.local/d:1.0', 'acme', 'prod', cells, 5));
    const before = new Map((await appPods(sandbox, 'kc1', 'acme-prod', app)).map((p) => [p.metadata!.name!, restartsOf(p)]));

    await releases.upsertApp(spec(app, 'registry.local/d:2.0', 'acme', 'prod', cells, 5), 'alice');
    await sandbox.control.setStartLatency('kc1', 1000);
    try {
      const ref = await releases.startRelease({ app, tenant: 'acme', requestedBy: 'alice', strategy: { groups: 1, maxConcurrentPods: 2 } });
      await waitForStatus(
        releases,
        ref,
        'some pods done and some in progress',
        (s) => s.pods.some((p) => p.state === 'done') && s.pods.some((p) => p.state === 'in-progress'),
      );
      worker.kill('SIGKILL');
      await new Promise((r) => worker.once('exit', r));
      worker = await startWorkerProcess();
      const final = await releases.result(ref);
      expect(final.state).toBe('succeeded');
    } finally {
      await sandbox.control.setStartLatency('kc1', 300);
    }
    const after = await appPods(sandbox, 'kc1', 'acme-prod', app);
    expect(after).toHaveLength(10);
    for (const pod of after) {
      expect(imageOf(pod)).toBe('registry.local/d:2.0');
      expect(restartsOf(pod)).toBe(before.get(pod.metadata!.name!)! + 1);
    }
    worker.kill('SIGTERM');
  },
  TEST_TIMEOUT_MS,
);

test(
  'an API server restarted mid-release: the release converges',
  async () => {
    const app = uniqueName('restart');
    await startWorkerProcess();
    await deployed(spec(app, 'registry.local/r:1.0', 'globex', 'staging', ['rz03a'], 4));
    await releases.upsertApp(spec(app, 'registry.local/r:2.0', 'globex', 'staging', ['rz03a'], 4), 'alice');
    await sandbox.control.setStartLatency('kc4', 1000);
    try {
      const ref = await releases.startRelease({
        app,
        tenant: 'globex',
        requestedBy: 'alice',
        strategy: { groups: 2, maxConcurrentPods: 1, gate: { type: 'timed', seconds: 1 } },
      });
      await waitForStatus(releases, ref, 'a pod in progress', (s) => s.pods.some((p) => p.state === 'in-progress'));
      await sandbox.control.stopCluster('kc4');
      await new Promise((r) => setTimeout(r, 3_000));
      await sandbox.control.startCluster('kc4');
      const final = await releases.result(ref);
      expect(final.state).toBe('succeeded');
    } finally {
      await sandbox.control.setStartLatency('kc4', 300);
    }
    const pods = await eventually('pods listed after restart', () => appPods(sandbox, 'kc4', 'globex-staging', app));
    expect(pods.map(imageOf)).toEqual(Array(4).fill('registry.local/r:2.0'));
  },
  TEST_TIMEOUT_MS,
);

test(
  'a cluster unreachable past the pod deadline pauses the release naming the cluster; resumed once it is back, the release completes',
  async () => {
    const app = uniqueName('outage');
    await startWorkerProcess();
    await deployed(spec(app, 'registry.local/o:1.0', 'globex', 'staging', ['rz03a'], 2));
    await releases.upsertApp(spec(app, 'registry.local/o:2.0', 'globex', 'staging', ['rz03a'], 2), 'alice');
    await sandbox.control.setStartLatency('kc4', 1000);
    let stopped = false;
    try {
      const ref = await releases.startRelease({
        app,
        tenant: 'globex',
        requestedBy: 'alice',
        // 20 s, not 5: after the cluster's restart the watches reconnect with up to 5 s of backoff each, and a 5 s
        // budget then failed the next pod too, leaving the release paused again after the resume
        strategy: { groups: 1, maxConcurrentPods: 1, podTimeoutSeconds: 20 },
      });
      await waitForStatus(releases, ref, 'a pod in progress', (s) => s.pods.some((p) => p.state === 'in-progress'));
      await sandbox.control.stopCluster('kc4');
      stopped = true;
      const paused = await waitForStatus(releases, ref, 'paused by the outage', (s) => s.state === 'paused');
      expect(paused.paused).toMatchObject({ by: 'barista' });
      expect(paused.paused?.reason).toMatch(/cluster kc4 still failing after \d+s/);
      expect(paused.pods.find((p) => p.name === paused.paused?.pod)?.state).toBe('failed');
      await sandbox.control.startCluster('kc4');
      stopped = false;
      await releases.resume(ref, { by: 'oncall', reason: 'kc4 is back' });
      expect((await releases.result(ref)).state).toBe('succeeded');
    } finally {
      if (stopped) await sandbox.control.startCluster('kc4');
      await sandbox.control.setStartLatency('kc4', 300);
    }
    const pods = await eventually('pods listed after the outage', () => appPods(sandbox, 'kc4', 'globex-staging', app));
    expect(pods.map(imageOf)).toEqual(Array(2).fill('registry.local/o:2.0'));
  },
  TEST_TIMEOUT_MS,
);

test(
  'with one cluster down, a release of its cells pauses naming it, while a release in another cluster completes',
  async () => {
    const down = uniqueName('down');
    const elsewhere = uniqueName('elsewhere');
    await startWorkerProcess();
    await releases.upsertApp(spec(down, 'registry.local/d:1.0', 'globex', 'staging', ['rz03a'], 1), 'alice');
    await releases.upsertApp(spec(elsewhere, 'registry.local/e:1.0', 'acme', 'prod', ['rz00b'], 1), 'alice');
    await sandbox.control.stopCluster('kc4');
    let stopped = true;
    try {
      const blocked = await releases.startRelease({
        app: down,
        tenant: 'globex',
        requestedBy: 'alice',
        strategy: { groups: 1, podTimeoutSeconds: 20 },
      });
      // kc4 is unreachable, but cells in kc1 are found and released
      const other = await releases.startRelease({ app: elsewhere, tenant: 'acme', requestedBy: 'alice', strategy: { groups: 1 } });
      expect((await releases.result(other)).state).toBe('succeeded');
      const paused = await waitForStatus(releases, blocked, 'paused resolving cells', (s) => s.state === 'paused');
      expect(paused.paused).toMatchObject({ step: 'resolve-cells', by: 'barista' });
      // other test files stop clusters of their own meanwhile (kc3, kc5): the reason may name them too
      expect(paused.paused?.reason).toMatch(/cells rz03a not found while clusters fail: (.*; )?cluster kc4: .*ECONNREFUSED/);
      await sandbox.control.startCluster('kc4');
      stopped = false;
      await releases.resume(blocked, { by: 'oncall', reason: 'kc4 is back' });
      const final = await releases.result(blocked);
      expect(final.state).toBe('succeeded');
      expect(final.audit.map((a) => a.action)).toEqual(expect.arrayContaining(['step-failed', 'resumed', 'finished']));
    } finally {
      if (stopped) await sandbox.control.startCluster('kc4');
    }
  },
  TEST_TIMEOUT_MS,
);

test(
  'a rollback facing an unreachable cluster pauses naming the step; resumed once the cluster is back, it rolls back',
  async () => {
    const app = uniqueName('rollout');
    await startWorkerProcess();
    await deployed(spec(app, 'registry.local/b:1.0', 'globex', 'staging', ['rz03a'], 2));
    await releases.upsertApp(spec(app, 'registry.local/b:2.0', 'globex', 'staging', ['rz03a'], 2), 'alice');
    const ref = await releases.startRelease({
      app,
      tenant: 'globex',
      requestedBy: 'alice',
      strategy: { groups: 2, podTimeoutSeconds: 20, gate: { type: 'manual' } },
    });
    await waitForStatus(releases, ref, 'the first group at its gate', (s) => s.state === 'waiting-approval');
    await sandbox.control.stopCluster('kc4');
    let stopped = true;
    try {
      await releases.rollback(ref, { by: 'oncall', reason: 'bad canary' });
      const paused = await waitForStatus(releases, ref, 'the rollback paused by the outage', (s) => s.state === 'paused');
      expect(paused.paused).toMatchObject({ step: 'workload', by: 'barista' });
      expect(paused.paused?.reason).toMatch(/workload did not succeed in time: .*ECONNREFUSED/);
      await sandbox.control.startCluster('kc4');
      stopped = false;
      await releases.resume(ref, { by: 'oncall', reason: 'kc4 is back' });
      expect((await releases.result(ref)).state).toBe('rolled-back');
    } finally {
      if (stopped) await sandbox.control.startCluster('kc4');
    }
    const pods = await eventually('pods listed after the outage', () => appPods(sandbox, 'kc4', 'globex-staging', app));
    expect(pods.map(imageOf)).toEqual(Array(2).fill('registry.local/b:1.0'));
  },
  TEST_TIMEOUT_MS,
);
