import type { temporal } from '@temporalio/proto';
import type { ReleaseRef } from '../../api/release-client.js';
import { largestPayload } from '../../bench/history.js';
import { batchStatusQuery } from '../../workflows/definitions.js';
import { startWorkflowTestEnv, until, type WorkflowTestEnv } from './workflow-env.js';

/**
 * Scale bounds of the real AppRelease workflow (time-skipping test server, fake activities that answer at
 * once): a release of any size keeps every history and payload far from Temporal's limits (10,240 events
 * warns, 51,200 ends a workflow; 2 MB per payload), because its pods move in batch child workflows.
 */
let w: WorkflowTestEnv;
beforeAll(async () => {
  w = await startWorkflowTestEnv();
}, 120_000);
afterAll(async () => {
  await w?.stop();
});

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

async function historyOf(workflowId: string, runId?: string): Promise<HistoryEvent[]> {
  const history = await w.env.client.workflow.getHandle(workflowId, runId).fetchHistory();
  return history.events ?? [];
}

const cells = (n: number) => Array.from({ length: n }, (_, i) => `rz${String(i).padStart(2, '0')}a`);

test('a 10,000-pod release (20 cells × 500, 5 groups) keeps the parent under 2,000 events, every batch under 10,240, every payload small', async () => {
  await w.registerApp('huge', { revisions: 2, replicas: 500, cells: cells(20) });
  const ref = await w.releases.startRelease({
    app: 'huge',
    tenant: 'acme',
    requestedBy: 'alice',
    strategy: { groups: 5, gate: { type: 'timed', seconds: 60 }, maxConcurrentPods: 100 },
  });
  // the summary view: counts, no pod list (the full status of 10,000 pods is about 1 MB)
  const summary = await until(w.releases, ref, 'some pods moved', (s) => (s.summary?.byState.done ?? 0) > 0, 120_000, {
    detail: 'summary',
  });
  expect(summary).toMatchObject({ detail: 'summary', pods: [], changedPods: [] });
  expect(summary.groups.map((g) => g.size)).toEqual([2000, 2000, 2000, 2000, 2000]);
  expect(summary.summary?.total).toBe(10_000);

  const final = await w.releases.result(ref);
  expect(final.state).toBe('succeeded');
  // past 1,000 pods the result is the summary; per-group detail stays one query away
  expect(final).toMatchObject({ detail: 'summary', pods: [] });
  expect(final.summary).toEqual({
    total: 10_000,
    byState: { pending: 0, 'in-progress': 0, done: 10_000, skipped: 0, failed: 0, unknown: 0 },
    changed: 10_000,
  });
  const group3 = await w.releases.status(ref, { group: 3 });
  expect(group3.pods).toHaveLength(2000);
  expect(group3.pods.every((p) => p.group === 3 && p.state === 'done' && p.revision === 2)).toBe(true);

  const moved = w.released.filter((r) => r.pod.startsWith('huge-'));
  expect(moved).toHaveLength(10_000);
  expect(new Set(moved.map((r) => r.pod)).size).toBe(10_000);

  const parent = await historyOf(ref.workflowId, ref.runId);
  const children = parent.flatMap((e) => {
    const started = e.childWorkflowExecutionStartedEventAttributes;
    return started?.workflowExecution?.workflowId ? [started.workflowExecution] : [];
  });
  expect(children).toHaveLength(40); // 5 groups × 2,000 pods in batches of 250
  const childHistories = await Promise.all(children.map((c) => historyOf(c.workflowId!, c.runId ?? undefined)));
  const largestChild = Math.max(...childHistories.map((h) => h.length));
  const payload = Math.max(largestPayload(parent), ...childHistories.map(largestPayload));
  console.log(
    `10,000 pods: parent history ${parent.length} events, largest batch history ${largestChild} events, largest payload ${payload} bytes`,
  );
  expect(parent.length).toBeLessThan(2000);
  expect(largestChild).toBeLessThan(10_240);
  expect(payload).toBeLessThan(256 * 1024);
}, 600_000);

test('a failed pod in one batch pauses every batch of its group; resume retries it and the release finishes with each pod moved once', async () => {
  await w.registerApp('wide', { revisions: 2, replicas: 200, cells: cells(3) });
  w.podStepMs.value = 20;
  const failing = 'wide-rz01a-150';
  w.failing.set(failing, { pod: failing, step: 'await-ready', reason: 'crash loop' });
  try {
    const ref: ReleaseRef = await w.releases.startRelease({
      app: 'wide',
      tenant: 'acme',
      requestedBy: 'alice',
      strategy: { groups: 1, gate: { type: 'manual' }, maxConcurrentPods: 12 },
    });
    const paused = await until(w.releases, ref, 'paused on the failing pod', (s) => s.state === 'paused', 60_000);
    expect(paused.paused).toMatchObject({ pod: failing, step: 'await-ready', reason: 'crash loop', by: 'barista' });
    // the group's 600 pods run in 3 batches (children), all held by the pause
    expect(paused.batches).toHaveLength(3);
    await new Promise((r) => setTimeout(r, 300)); // steps in hand when the pause arrived finish
    const held = w.released.filter((r) => r.pod.startsWith('wide-')).length;
    await new Promise((r) => setTimeout(r, 700));
    expect(w.released.filter((r) => r.pod.startsWith('wide-')).length).toBe(held);
    expect(held).toBeLessThan(600);
    // each batch tells its pods' live state
    const live = await Promise.all(paused.batches!.map((b) => w.env.client.workflow.getHandle(b.workflowId).query(batchStatusQuery)));
    expect(live.flat().find((p) => p.name === failing)).toMatchObject({ state: 'failed', step: 'await-ready', revision: 2 });
    expect(live.flat()).toHaveLength(600);
    // a batch's workflow task may replay a thousand events on a busy worker: the release and its batches get
    // RELEASE_WORKFLOW_TASK_TIMEOUT (60 s), not Temporal's 10 s, which under load set off a cascade of replays
    const taskTimeout = async (id: string, run?: string) =>
      Number((await historyOf(id, run))[0]?.workflowExecutionStartedEventAttributes?.workflowTaskTimeout?.seconds);
    const timeouts = await Promise.all([taskTimeout(ref.workflowId, ref.runId), ...paused.batches!.map((b) => taskTimeout(b.workflowId))]);
    expect(timeouts).toEqual([60, 60, 60, 60]);

    w.failing.delete(failing);
    await w.releases.resume(ref, { by: 'carol' });
    const final = await w.releases.result(ref);
    expect(final.state).toBe('succeeded');
    expect(final.pods.filter((p) => p.state === 'done')).toHaveLength(600);
    const moved = w.released.filter((r) => r.pod.startsWith('wide-')).map((r) => r.pod);
    expect(moved).toHaveLength(600);
    expect(new Set(moved).size).toBe(600);
  } finally {
    w.podStepMs.value = 0;
    w.failing.clear();
  }
}, 300_000);

test('hand-made batch signals (no input, {}, wrong types, a pod not in flight) change nothing and fail no workflow task', async () => {
  await w.registerApp('spoofed', { revisions: 2, replicas: 100, cells: cells(1) });
  w.podStepMs.value = 20;
  try {
    const ref = await w.releases.startRelease({
      app: 'spoofed',
      tenant: 'acme',
      requestedBy: 'alice',
      strategy: { groups: 1, maxConcurrentPods: 5 },
    });
    const running = await until(w.releases, ref, 'a batch running', (s) => (s.batches?.length ?? 0) > 0, 30_000);
    const release = w.env.client.workflow.getHandle(ref.workflowId, ref.runId);
    const batch = w.env.client.workflow.getHandle(running.batches![0]!.workflowId);
    await release.signal<[]>('batch-pod-failed');
    await release.signal<[unknown]>('batch-pod-failed', {});
    await release.signal<[unknown]>('batch-pod-failed', { pod: 'spoofed-rz00a-999', step: 'drain', reason: 'fake', revision: 2 });
    await batch.signal<[]>('batch-control');
    await batch.signal<[unknown]>('batch-control', { paused: 'yes', stop: 1, resumeCount: 'x', skipped: 'all' });
    const final = await w.releases.result(ref);
    expect(final.state).toBe('succeeded');
    expect(final.pods.filter((p) => p.state === 'done')).toHaveLength(100);
    expect(final.audit.filter((a) => a.action === 'batch-pod-failed-rejected')).toHaveLength(3);
    expect(final.audit.some((a) => a.action === 'pod-failed' || a.action === 'paused')).toBe(false);
    for (const handle of [release, batch]) {
      const events = (await handle.fetchHistory()).events ?? [];
      expect(events.filter((e) => e.workflowTaskFailedEventAttributes)).toEqual([]);
    }
  } finally {
    w.podStepMs.value = 0;
  }
}, 120_000);
