import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { ScheduleNotFoundError } from '@temporalio/client';
import { driftRunId, driftScheduleId, type DriftReport } from '../../workflows/drift-definitions.js';
import { createLogger } from '../../sandbox/logger.js';
import { parseTopology } from '../../sandbox/topology.js';
import { restrictedKubeConfig } from '../../sandbox/agent-processes.js';
import { createAgentWorker, type AgentWorker, type AgentWorkerOptions } from '../../worker/agent-worker.js';
import { connectSandbox, eventually, uniqueName } from '../support/sandbox.js';
import { appPods, imageOf, restartsOf, startReleaseHarness, waitForStatus, type ReleaseHarness } from '../support/release-harness.js';
import { appSpec } from '../support/app-spec.js';

/**
 * Issue #16 on the real sandbox: kc2 is agent-served. The central worker's kubeconfig holds no credentials of
 * kc2 (it cannot dial it); an agent, in this process but its own Temporal worker with only kc2's kubeconfig, polls
 * barista-cluster-kc2. kc1 stays direct, so one release mixes both kinds.
 */
const AGENT_CLUSTER = 'kc2';
let h: ReleaseHarness;
let agentKubeConfig: KubeConfig;
let centralKubeconfig: string;
let agent: { worker: AgentWorker; running: Promise<void> } | undefined;

/** A cluster agent of kc2, in this process but its own Temporal worker, holding only kc2's kubeconfig. */
async function createKc2Agent(identity?: string, more: Partial<AgentWorkerOptions> = {}): Promise<AgentWorker> {
  const info = h.sandbox.info;
  const topology = parseTopology({
    clusters: info.clusters.map((c) => ({
      name: c.name,
      tenant: c.tenant,
      workspace: c.workspace,
      cells: c.cells.map((name) => ({ name })),
      access: c.name === AGENT_CLUSTER ? 'agent' : 'direct',
    })),
  });
  return createAgentWorker({
    cluster: AGENT_CLUSTER,
    topology,
    kubeconfig: agentKubeConfig,
    temporalAddress: info.temporalAddress,
    namespace: info.temporalNamespace,
    logger: createLogger('agent', process.env.BARISTA_TEST_LOG_LEVEL ?? 'warn'),
    // agents of one cluster run in separate processes, each its own Lease identity; here, one process holds two
    ...(identity ? { election: { identity } } : {}),
    ...more,
  });
}

/**
 * The one of `agents` whose gate keeper leads kc2. A worker killed by an earlier test file (SIGKILL) leaves the Lease
 * held by no one alive: a candidate takes it once it has seen the holder not renew for the Lease's 15 s.
 */
async function keeperOf(agents: AgentWorker[]): Promise<AgentWorker> {
  return eventually(
    "kc2's gate keeper led by an agent",
    async () => agents.find((a) => a.gateKeepers.leading().includes(AGENT_CLUSTER)),
    45_000,
  );
}

async function startAgent(): Promise<void> {
  const worker = await createKc2Agent();
  agent = { worker, running: worker.worker.run() };
}

async function stopAgent(): Promise<void> {
  if (!agent) return;
  const { worker, running } = agent;
  agent = undefined;
  worker.worker.shutdown();
  await running;
  await worker.stopAfterRun();
}

beforeAll(async () => {
  const sandbox = await connectSandbox();
  const all = new KubeConfig();
  all.loadFromFile(sandbox.info.kubeconfig);
  const dir = mkdtempSync(join(tmpdir(), 'barista-agents-'));
  centralKubeconfig = join(dir, 'central.kubeconfig');
  writeFileSync(centralKubeconfig, restrictedKubeConfig(all, (c) => c !== AGENT_CLUSTER).exportConfig(), { mode: 0o600 });
  agentKubeConfig = restrictedKubeConfig(all, (c) => c === AGENT_CLUSTER);
  h = await startReleaseHarness({ kubeconfig: centralKubeconfig, agentClusters: [AGENT_CLUSTER] });
  await startAgent();
});
afterAll(async () => {
  await stopAgent();
  await h?.stop();
});

const cells = ['rz00a', 'rz01a']; // rz00a in kc1 (direct), rz01a in kc2 (agent-served)
const spec = (app: string, image: string) => appSpec(app, image, { cells, replicasPerCell: 2, traffic: [{ name: 'rpc' }] });

/** Registers the App at `image` and releases it everywhere in one group; expects it to succeed. */
async function deployed(app: string, image: string): Promise<void> {
  const { revision } = await h.releases.upsertApp(spec(app, image), 'alice');
  const ref = await h.releases.startRelease({ app, tenant: 'acme', revision, requestedBy: 'alice', strategy: { groups: 1 } });
  expect((await h.releases.result(ref)).state).toBe('succeeded');
}

/** The App's pods of both clusters: kc1's read with the sandbox's credentials, kc2's with the agent's. */
async function podsOf(app: string) {
  return [...(await appPods(h.sandbox, 'kc1', 'acme-prod', app)), ...(await appPods(h.sandbox, AGENT_CLUSTER, 'acme-prod', app))];
}

test('a release over a direct and an agent-served cluster succeeds; the central worker holds no credentials of the agent-served one', async () => {
  const central = new KubeConfig();
  central.loadFromFile(centralKubeconfig);
  expect(central.contexts.map((c) => c.name)).not.toContain(AGENT_CLUSTER);
  expect(central.clusters.map((c) => c.server)).not.toContain(agentKubeConfig.getCurrentCluster()!.server);

  const app = uniqueName('agents');
  await deployed(app, 'registry.local/agents:1'); // its cells checked by kc2's agent when the App is registered
  expect((await appPods(h.sandbox, AGENT_CLUSTER, 'acme-prod', app)).map(imageOf)).toEqual([
    'registry.local/agents:1',
    'registry.local/agents:1',
  ]);

  await h.releases.upsertApp(spec(app, 'registry.local/agents:2'), 'alice');
  // the auto gate watches each cluster's pods where it can: kc1's centrally, kc2's on its agent
  const ref = await h.releases.startRelease({
    app,
    tenant: 'acme',
    requestedBy: 'alice',
    strategy: { groups: 2, gate: { type: 'auto', windowSeconds: 2 } },
  });
  const final = await h.releases.result(ref);
  expect(final.state).toBe('succeeded');
  expect(final.gates).toEqual([expect.objectContaining({ group: 0, type: 'auto', state: 'passed' })]);
  expect(final.pods.filter((p) => p.changed)).toHaveLength(4);
  expect((await podsOf(app)).map(imageOf)).toEqual(Array(4).fill('registry.local/agents:2'));
  // kc2's gate keeper runs in the agent (the central worker runs none there), once the Lease is free or lapsed
  await keeperOf([agent!.worker]);
}, 400_000);

test('the agent stopped mid-release pauses the release naming the cluster; restarted, resume finishes every pod once', async () => {
  const app = uniqueName('agentdown');
  await deployed(app, 'registry.local/down:1');
  const restartsBefore = new Map((await podsOf(app)).map((p) => [p.metadata!.name!, restartsOf(p)]));

  await h.releases.upsertApp(spec(app, 'registry.local/down:2'), 'alice');
  const ref = await h.releases.startRelease({
    app,
    tenant: 'acme',
    requestedBy: 'alice',
    strategy: { groups: 2, gate: { type: 'manual' }, podTimeoutSeconds: 30 },
  });
  await waitForStatus(h.releases, ref, 'waiting for approval of group 0', (s) => s.state === 'waiting-approval' && s.currentGroup === 0);
  await stopAgent();
  await h.releases.approve(ref, { by: 'carol' });
  // a kc2 step waits at most half the pod budget (15 s) on the agent's queue, then the release pauses naming it
  const paused = await waitForStatus(h.releases, ref, 'paused on the silent agent', (s) => s.state === 'paused', 90_000);
  expect(JSON.stringify(paused.paused)).toContain("cluster kc2's agent is not polling barista-cluster-kc2");

  await startAgent();
  await h.releases.resume(ref, { by: 'oncall', reason: 'kc2 agent is back' });
  const final = await h.releases.result(ref);
  expect(final.state).toBe('succeeded');
  const pods = await podsOf(app);
  expect(pods.map(imageOf)).toEqual(Array(4).fill('registry.local/down:2'));
  // each pod upgraded once: its container restarted once, or it is a new pod that never restarted
  for (const pod of pods) expect(restartsOf(pod) - (restartsBefore.get(pod.metadata!.name!) ?? 0)).toBeLessThanOrEqual(1);
}, 400_000);

test('in disaster mode, the agent stopped between groups is its cluster lost: its cells go into the ledger, the rest is released', async () => {
  if (!agent) await startAgent();
  const app = uniqueName('agentlost');
  await deployed(app, 'registry.local/lost:1');
  await h.releases.upsertApp(spec(app, 'registry.local/lost:2'), 'alice');
  const ref = await h.releases.startRelease({
    app,
    tenant: 'acme',
    requestedBy: 'alice',
    mode: 'disaster',
    strategy: { groups: 2, gate: { type: 'manual' } },
  });
  await waitForStatus(h.releases, ref, 'waiting for approval of group 0', (s) => s.state === 'waiting-approval' && s.currentGroup === 0);
  await stopAgent();
  await h.releases.approve(ref, { by: 'carol' });
  const final = await h.releases.result(ref);
  expect(final.state).toBe('succeeded-with-skips');
  expect(final.ledger).toEqual([
    expect.objectContaining({
      cell: 'rz01a',
      cluster: AGENT_CLUSTER,
      reason: expect.stringContaining("cluster kc2's agent is not polling"),
    }),
  ]);
  expect((await appPods(h.sandbox, 'kc1', 'acme-prod', app)).map(imageOf)).toEqual(['registry.local/lost:2', 'registry.local/lost:2']);
  await startAgent(); // back for whatever runs next
}, 400_000);

test('two agents of one cluster: both serve its queue, exactly one runs its gate keeper', async () => {
  if (!agent) await startAgent();
  const second = await createKc2Agent('second-agent-of-kc2');
  const running = second.worker.run();
  try {
    // one of the two takes the Lease; the other tries every 2 s meanwhile and stands by
    const keeper = await keeperOf([agent!.worker, second]);
    await new Promise((r) => setTimeout(r, 6_000));
    expect([agent!.worker, second].map((a) => a.gateKeepers.leading())).toEqual(
      [agent!.worker, second].map((a) => (a === keeper ? [AGENT_CLUSTER] : [])),
    );
    // both take the cluster's work: a release succeeds with either agent taking its steps
    const app = uniqueName('twoagents');
    await deployed(app, 'registry.local/two:1');
  } finally {
    second.worker.shutdown();
    await running;
    await second.stopAfterRun();
  }
}, 300_000);

test('drift repair puts back a hand-edited pod of the agent-served cluster, through its agent', async () => {
  if (!agent) await startAgent();
  const app = uniqueName('agentdrift');
  await deployed(app, 'registry.local/drift:1');
  // `kubectl set image` on kc2's pod, with the sandbox's own credentials (the central worker has none for kc2)
  const pod = `${app}-rz01a-0`;
  const kc2 = h.sandbox.kubeConfig(AGENT_CLUSTER).makeApiClient(CoreV1Api);
  await kc2.patchNamespacedPod(
    {
      name: pod,
      namespace: 'acme-prod',
      fieldManager: 'kubectl-set',
      body: { spec: { containers: [{ name: 'app', image: 'registry.local/evil:1' }] } },
    },
    setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
  );
  const report: DriftReport = await h.client.workflow.execute('driftRepair', {
    workflowId: `${driftRunId('acme', new Date())}-${app}`,
    taskQueue: h.releases.taskQueue,
    args: [{ tenant: 'acme', apps: [app], by: 'test' }],
  });
  const findings = report.apps.flatMap((a) => a.cells.flatMap((c) => c.findings));
  expect(findings).toEqual([expect.objectContaining({ cell: 'rz01a', object: `pod/${pod}`, outcome: 'repaired' })]);
  expect(imageOf(await kc2.readNamespacedPod({ name: pod, namespace: 'acme-prod' }))).toBe('registry.local/drift:1');
}, 300_000);

test("the agent ensures the drift Schedule of its cluster's tenants, whose runs go to the central queue", async () => {
  const tenant = h.sandbox.info.clusters.find((c) => c.name === AGENT_CLUSTER)!.tenant;
  const schedule = h.client.schedule.getHandle(driftScheduleId(tenant));
  const gone = () => schedule.delete().catch((err: unknown) => expect(err).toBeInstanceOf(ScheduleNotFoundError));
  await gone(); // the sandbox's tenants have none: no file leaves one behind
  // the central worker's kubeconfig has no kc2: only the agent can find the tenants of kc2's nodes
  const centralQueue = `central-${uniqueName('q')}`; // nobody polls it: a run fired by mistake would wait, not act
  const second = await createKc2Agent('drift-agent-of-kc2', {
    driftSchedules: { taskQueue: centralQueue, env: { BARISTA_DRIFT_INTERVAL_SECONDS: '86400' } },
  });
  const running = second.worker.run();
  try {
    expect(await second.driftSchedules).toEqual({ tenants: [tenant], created: [tenant], existing: [], failed: [] });
    const described = await schedule.describe();
    expect(described.action).toMatchObject({ type: 'startWorkflow', workflowType: 'driftRepair', taskQueue: centralQueue });
  } finally {
    second.worker.shutdown();
    await running;
    await second.stopAfterRun();
    await gone();
  }
}, 180_000);
