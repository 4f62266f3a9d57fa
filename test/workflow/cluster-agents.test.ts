import { Context } from '@temporalio/activity';
import { Worker } from '@temporalio/worker';
import type { ClusterActivities } from '../../activities/index.js';
import { clusterTaskQueue } from '../../domain/cluster-queues.js';
import type { ReleaseRef } from '../../api/release-client.js';
import type { ReleaseStatus } from '../../workflows/release-status.js';
import { startWorkflowTestEnv, type WorkflowTestEnv } from './workflow-env.js';
import { driftReportQuery } from '../../workflows/drift-definitions.js';

/**
 * Cluster agents (issue #16) on the real AppRelease workflow (time-skipping server, fake activities): a release
 * sends every step that acts on an agent-served cluster to that cluster's queue, barista-cluster-<name>, where an
 * agent (here: a worker with fake cluster activities) takes it; a direct cluster's steps stay on the central queue,
 * in the same release. A queue nobody polls ends the step within its schedule-to-start budget, and the release
 * pauses naming the cluster and its queue; an agent that comes back lets the resumed release finish.
 */
let w: WorkflowTestEnv;
beforeAll(async () => {
  w = await startWorkflowTestEnv();
  w.cellClusters.set('ag00a', 'kc-direct');
  w.cellClusters.set('ag01a', 'kc-agent');
  w.cellClusters.set('ag02a', 'kc-gone');
  w.cellClusters.set('ag03a', 'kc-flaky');
  w.agentClusters.push('kc-agent', 'kc-gone', 'kc-flaky');
}, 120_000);
afterAll(async () => {
  await w?.stop();
});

/** One call a fake agent took: which activity, on which queue, for which cluster and cell or pods. */
interface AgentCall {
  activity: string;
  taskQueue: string;
  cluster: string;
  what: string;
}

/**
 * A fake agent of `cluster`: a worker on its queue with the cluster activities only (as worker/agent-worker.ts
 * registers them), recording each call. `afterWorkload` runs once a workload is ensured.
 */
async function startFakeAgent(cluster: string, o: { afterWorkload?: () => void } = {}) {
  const calls: AgentCall[] = [];
  const record = (activity: string, forCluster: string, what: string) =>
    calls.push({ activity, taskQueue: Context.current().info.taskQueue, cluster: forCluster, what });
  const activities: ClusterActivities = {
    ensureWorkload: async (input) => {
      record('ensureWorkload', input.cluster, input.cell);
      o.afterWorkload?.();
      return { created: false, updated: true };
    },
    ensurePodReleased: async (input) => {
      record('ensurePodReleased', input.cluster, input.pod);
      return { pod: input.pod, changed: true, uid: `uid-${input.pod}`, ip: '10.0.1.1', restartCount: 0 };
    },
    ensurePodHandedBack: async (input) => {
      record('ensurePodHandedBack', input.cluster, input.pod);
      return { unmarked: true };
    },
    awaitGroupStable: async (input) => {
      for (const pod of input.pods) record('awaitGroupStable', pod.cluster, pod.name);
      return { stableForSeconds: input.windowSeconds };
    },
    cellsInCluster: async (input) => {
      record('cellsInCluster', input.cluster, (input.cells ?? []).join(','));
      const mine = [...w.cellClusters].filter(([cell, c]) => c === input.cluster && (!input.cells || input.cells.includes(cell)));
      return { cluster: input.cluster, mine: mine.map(([cell]) => cell).sort(), foreign: [] };
    },
    // drift repair's reads and repairs of the cluster
    observeCellDrift: async (input) => {
      record('observeCellDrift', input.cluster, input.cell);
      return w.cellDrift.get(input.cell) ?? { workload: [], pods: [], podsSeen: 0 };
    },
    ensurePodMetadata: async (input) => {
      record('ensurePodMetadata', input.cluster, input.pod);
      return { changed: [] };
    },
    ensureFinalizersLifted: async (input) => {
      record('ensureFinalizersLifted', input.cluster, input.pod);
      return { lifted: input.finalizers };
    },
    // disaster mode's probe and watch of the cluster, from inside: the fake cluster always answers
    probeClusters: async ({ clusters }) => clusters.map((c) => ({ cluster: c, reachable: true as const })),
    awaitClusterLost: async () => {
      const ctx = Context.current();
      for (;;) {
        ctx.heartbeat();
        await ctx.sleep(1_000); // rejects once the release cancels the watch (the group ended)
      }
    },
  } as ClusterActivities;
  const worker = await Worker.create({
    connection: w.env.nativeConnection,
    namespace: w.env.namespace ?? 'default',
    taskQueue: clusterTaskQueue(cluster),
    activities,
    // a shutdown asked for from inside an activity lets that activity report its result
    shutdownGraceTime: '5s',
  });
  const running = worker.run();
  return {
    calls,
    worker,
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
    },
  };
}

let n = 0;
async function release(cells: string[], strategy: Record<string, unknown>) {
  const app = `agents-${++n}`;
  await w.registerApp(app, { revisions: 2, replicas: 2, cells });
  const ref = await w.releases.startRelease({ app, tenant: 'acme', requestedBy: 'alice', strategy });
  return { app, ref };
}

/** Skips workflow time `step` at a time until the release pauses (no timer fires while a test only queries). */
async function pausedAfterSkipping(ref: ReleaseRef, step: string, maxSteps = 30): Promise<ReleaseStatus> {
  for (let i = 0; i < maxSteps; i++) {
    const s = await w.releases.status(ref);
    if (s.state === 'paused') return s;
    await w.env.sleep(step);
  }
  throw new Error(`release ${ref.workflowId} did not pause; last state ${(await w.releases.status(ref)).state}`);
}

/**
 * How long the activity `activity` waited between being scheduled and timing out, in the history of `workflowId`
 * (a batch's pod steps are in the batch's history): the budget, as the server measured it.
 */
async function waitedBeforeTimeout(workflowId: string, activity: string): Promise<number> {
  const history = await w.env.client.workflow.getHandle(workflowId).fetchHistory();
  const events = history.events ?? [];
  const scheduled = events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === activity);
  const timedOut = events.find((e) =>
    scheduled.some((s) => Number(s.eventId) === Number(e.activityTaskTimedOutEventAttributes?.scheduledEventId)),
  );
  if (!timedOut) throw new Error(`no ${activity} timed out in ${workflowId}`);
  const from = scheduled.find((s) => Number(s.eventId) === Number(timedOut.activityTaskTimedOutEventAttributes!.scheduledEventId))!;
  const ms = (e: typeof from) => Number(e.eventTime!.seconds) * 1000 + Math.floor((e.eventTime!.nanos ?? 0) / 1e6);
  return (ms(timedOut) - ms(from)) / 1000;
}

test("an agent-served cluster's steps go to its agent's queue, a direct cluster's to the central queue, in one release", async () => {
  const agent = await startFakeAgent('kc-agent');
  const before = w.driftRepairs.length;
  try {
    const { ref } = await release(['ag00a', 'ag01a'], { groups: 2, gate: { type: 'auto', windowSeconds: 5 } });
    const final = await w.releases.result(ref);
    expect(final.state).toBe('succeeded');
    const agentPods = final.pods.filter((p) => p.cell === 'ag01a').map((p) => p.name);
    const directPods = final.pods.filter((p) => p.cell === 'ag00a').map((p) => p.name);
    expect(agentPods).toHaveLength(2);

    // the agent took every step of its cluster, on its queue, and nothing of the direct cluster
    expect(agent.calls.every((c) => c.taskQueue === 'barista-cluster-kc-agent' && c.cluster === 'kc-agent')).toBe(true);
    expect(agent.calls.filter((c) => c.activity === 'ensureWorkload').map((c) => c.what)).toEqual(['ag01a', 'ag01a']);
    expect(
      agent.calls
        .filter((c) => c.activity === 'ensurePodReleased')
        .map((c) => c.what)
        .sort(),
    ).toEqual([...agentPods].sort());
    // the gate after group 0 watched the agent's pod of that group there
    expect(agent.calls.filter((c) => c.activity === 'awaitGroupStable').map((c) => c.what)).toEqual([
      final.pods.find((p) => p.cell === 'ag01a' && p.group === 0)!.name,
    ]);

    // the central worker (the env's fakes) did the direct cluster's steps and none of the agent's
    const central = w.driftRepairs.slice(before);
    expect(central.filter((r) => r.startsWith('ensureWorkload '))).toEqual(['ensureWorkload ag00a', 'ensureWorkload ag00a']);
    expect(w.released.filter((r) => agentPods.includes(r.pod))).toEqual([]);
    expect(
      w.released
        .filter((r) => directPods.includes(r.pod))
        .map((r) => r.pod)
        .sort(),
    ).toEqual([...directPods].sort());
  } finally {
    await agent.stop();
  }
});

test("a queue nobody polls ends the step within its budget: the release pauses naming the cluster's agent and queue; an agent that comes back lets resume finish", async () => {
  // podTimeoutSeconds 30: the workload step may wait 15 s on the agent's queue (half its budget), then fails
  const { ref } = await release(['ag00a', 'ag02a'], { groups: 1, podTimeoutSeconds: 30 });
  const paused = await pausedAfterSkipping(ref, '5s');
  expect(paused.paused).toMatchObject({
    step: 'workload',
    reason:
      "workload did not succeed in time: cluster kc-gone's agent is not polling barista-cluster-kc-gone (no worker took the step within 15s)",
  });
  // the server gave the step its schedule-to-start budget, no more
  const waited = await waitedBeforeTimeout(ref.workflowId, 'ensureWorkload');
  expect(waited).toBeGreaterThanOrEqual(15);
  expect(waited).toBeLessThan(16);

  // the agent starts polling; the operator resumes: the step runs again, on the agent's queue, and the release ends
  const agent = await startFakeAgent('kc-gone');
  try {
    await w.releases.resume(ref, { by: 'oncall' });
    const final = await w.releases.result(ref);
    expect(final.state).toBe('succeeded');
    expect(agent.calls.filter((c) => c.activity === 'ensurePodReleased')).toHaveLength(2);
  } finally {
    await agent.stop();
  }
});

test('an agent that stops polling between steps pauses the release on the pod, naming its cluster and queue', async () => {
  // the agent ensures the workload, then stops polling: the pod steps that follow wait on a queue nobody polls
  const agent: Awaited<ReturnType<typeof startFakeAgent>> = await startFakeAgent('kc-flaky', {
    afterWorkload: () => agent.worker.shutdown(),
  });
  try {
    const { ref } = await release(['ag03a'], { groups: 1, podTimeoutSeconds: 30, maxConcurrentPods: 1 });
    for (let i = 0; i < 300 && agent.calls.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    // a worker's shutdown waits for its outstanding long poll to end (about a minute of real time): slow, but
    // afterwards nothing can reach it
    await agent.stop();
    const paused = await pausedAfterSkipping(ref, '10s');
    expect(paused.paused).toMatchObject({
      step: 'activity',
      pod: expect.stringMatching(/ag03a/),
      reason: expect.stringMatching(
        /^cluster kc-flaky's agent is not polling barista-cluster-kc-flaky \(no worker took the step within 15s\)$/,
      ),
    });
    expect(agent.calls.map((c) => c.activity)).toEqual(['ensureWorkload']);
    await w.releases.abort(ref, { by: 'oncall' });
    expect((await w.releases.result(ref)).state).toBe('aborted');
  } finally {
    await agent.stop();
  }
});

describe('a central worker without the agent-served clusters’ credentials asks their agents where cells are', () => {
  beforeAll(() => (w.centralBlind.on = true));
  afterAll(() => (w.centralBlind.on = false));

  test('the agent holding the cell answers; agents that do not poll (kc-gone, kc-flaky) do not hold the release', async () => {
    const agent = await startFakeAgent('kc-agent');
    try {
      const { ref } = await release(['ag00a', 'ag01a'], { groups: 1, podTimeoutSeconds: 30 });
      const final = await w.releases.result(ref);
      expect(final.state).toBe('succeeded');
      expect(final.pods.filter((p) => p.cell === 'ag01a').map((p) => p.cluster)).toEqual(['kc-agent', 'kc-agent']);
      expect(agent.calls.filter((c) => c.activity === 'cellsInCluster').map((c) => c.what)).toEqual(['ag01a']);
    } finally {
      await agent.stop();
    }
  });

  test('a cell no polling agent places pauses the release at resolve-cells, naming every silent agent', async () => {
    const { ref } = await release(['ag00a', 'ag02a'], { groups: 1, podTimeoutSeconds: 30 });
    const paused = await pausedAfterSkipping(ref, '5s');
    expect(paused.paused?.step).toBe('resolve-cells');
    for (const cluster of ['kc-agent', 'kc-gone', 'kc-flaky'])
      expect(paused.paused?.reason).toContain(`cluster ${cluster}'s agent is not polling barista-cluster-${cluster}`);
    await w.releases.abort(ref, { by: 'oncall' });
    expect((await w.releases.result(ref)).state).toBe('aborted');
  });
});

describe('disaster mode: an agent that does not poll is its cluster unreachable', () => {
  test('cells of an agent-served cluster whose agent is silent at the start go into the ledger; the rest is released', async () => {
    w.centralBlind.on = true;
    const agent = await startFakeAgent('kc-agent');
    try {
      const app = `agents-${++n}`;
      await w.registerApp(app, { revisions: 2, replicas: 2, cells: ['ag00a', 'ag01a', 'ag02a'] });
      const ref = await w.releases.startRelease({ app, tenant: 'acme', requestedBy: 'alice', mode: 'disaster', strategy: { groups: 1 } });
      const final = await w.releases.result(ref);
      expect(final.state).toBe('succeeded-with-skips');
      // ag02a (kc-gone) could be in either silent agent's cluster: which one, only they could say
      expect(final.ledger).toEqual([
        expect.objectContaining({
          cell: 'ag02a',
          cluster: 'kc-flaky or kc-gone',
          reason: expect.stringContaining("cluster kc-gone's agent is not polling"),
        }),
      ]);
      expect(final.pods.filter((p) => p.cell !== 'ag02a').every((p) => p.state === 'done')).toBe(true);
      expect(agent.calls.filter((c) => c.activity === 'ensurePodReleased')).toHaveLength(2);
    } finally {
      w.centralBlind.on = false;
      await agent.stop();
    }
  });

  test('an agent that stops during a group: its cluster is lost, its cells go into the ledger, the release ends with skips', async () => {
    const agent: Awaited<ReturnType<typeof startFakeAgent>> = await startFakeAgent('kc-agent', {
      afterWorkload: () => agent.worker.shutdown(),
    });
    try {
      const app = `agents-${++n}`;
      await w.registerApp(app, { revisions: 2, replicas: 2, cells: ['ag00a', 'ag01a'] });
      const ref = await w.releases.startRelease({
        app,
        tenant: 'acme',
        requestedBy: 'alice',
        mode: 'disaster',
        strategy: { groups: 1, podTimeoutSeconds: 30 },
      });
      for (let i = 0; i < 300 && agent.calls.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
      await agent.stop();
      const final = await w.releases.result(ref);
      expect(final.state).toBe('succeeded-with-skips');
      expect(final.ledger).toEqual([
        expect.objectContaining({ cell: 'ag01a', cluster: 'kc-agent', reason: expect.stringMatching(/kc-agent/) }),
      ]);
      expect(final.pods.filter((p) => p.cell === 'ag00a').every((p) => p.state === 'done')).toBe(true);
    } finally {
      await agent.stop();
    }
  });
});

test('drift repair reads and repairs an agent-served cluster’s cell through its agent, a direct one centrally', async () => {
  const agent = await startFakeAgent('kc-agent');
  const app = `agents-${++n}`;
  const pod = `${app}-ag01a-0`;
  w.cellDrift.set('ag01a', {
    workload: [],
    pods: [
      {
        pod,
        repair: 'release',
        fields: [{ field: 'spec.containers[name=app].image', expected: 'registry.local/app:1', actual: 'evil:1' }],
      },
    ],
    podsSeen: 2,
  });
  try {
    await w.registerApp(app, { revisions: 2, replicas: 2, cells: ['ag00a', 'ag01a'] });
    const handle = await w.env.client.workflow.start('driftRepair', {
      workflowId: `drift/acme/agents-${n}`,
      taskQueue: w.taskQueue,
      args: [{ tenant: 'acme', by: 'test', apps: [app] }],
    });
    w.driftRuns.add(handle.workflowId);
    // waited for without skipping time (the App entities' far timers would end them)
    while ((await handle.describe()).status.name === 'RUNNING') await new Promise((r) => setTimeout(r, 50));
    w.driftRuns.delete(handle.workflowId);
    const report = await handle.query(driftReportQuery);
    expect(report.apps[0]).toMatchObject({ app, state: 'repaired' });
    expect(agent.calls.filter((c) => c.activity === 'observeCellDrift').map((c) => c.what)).toEqual(['ag01a']);
    expect(agent.calls.filter((c) => c.activity === 'ensurePodReleased').map((c) => c.what)).toEqual([pod]);
    expect(agent.calls.every((c) => c.taskQueue === 'barista-cluster-kc-agent')).toBe(true);
    expect(w.driftRepairs.filter((r) => r.includes(pod))).toEqual([]); // nothing of kc-agent's done centrally
  } finally {
    w.cellDrift.delete('ag01a');
    await agent.stop();
  }
});
