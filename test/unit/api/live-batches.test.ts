import { overlayLiveBatches } from '../../../api/live-batches.js';
import type { PodStatus, ReleaseStatus } from '../../../workflows/release-status.js';

const pod = (name: string, group: number, state: PodStatus['state'], extra: Partial<PodStatus> = {}): PodStatus => ({
  name,
  cell: 'a',
  cluster: 'kc1',
  group,
  state,
  ...extra,
});
const zero = { pending: 0, 'in-progress': 0, done: 0, skipped: 0, failed: 0, unknown: 0 };

/** Group 0 finished (2 pods); group 1's 3 pods are in one live batch, known to the release as pending. */
const status: ReleaseStatus = {
  app: 'pay',
  tenant: 'acme',
  from: 1,
  to: 2,
  state: 'running',
  currentGroup: 1,
  groups: [
    { index: 0, beta: false, size: 2, done: 2, pods: ['p0', 'p1'] },
    { index: 1, beta: false, size: 3, done: 0, pods: ['p2', 'p3', 'p4'] },
  ],
  pods: [
    pod('p0', 0, 'done', { changed: true, revision: 2 }),
    pod('p1', 0, 'done', { changed: true, revision: 2 }),
    pod('p2', 1, 'pending'),
    pod('p3', 1, 'pending'),
    pod('p4', 1, 'pending'),
  ],
  summary: { total: 5, byState: { ...zero, done: 2, pending: 3 }, changed: 2 },
  batches: [{ workflowId: 'b1', group: 1, pods: 3, from: { total: 3, byState: { ...zero, pending: 3 }, changed: 0 } }],
  gates: [],
  audit: [],
  changedPods: ['p0', 'p1'],
  startedAt: '2026-01-01T00:00:00Z',
};

test("a live batch's pods and counts replace what the release knew at the batch's start", () => {
  const live = [
    pod('p2', 1, 'done', { changed: true, revision: 2 }),
    pod('p3', 1, 'failed', { step: 'drain', changed: true }),
    pod('p4', 1, 'in-progress'),
  ];
  const shown = overlayLiveBatches(status, [live]);
  expect(shown.pods.map((p) => [p.name, p.state])).toEqual([
    ['p0', 'done'],
    ['p1', 'done'],
    ['p2', 'done'],
    ['p3', 'failed'],
    ['p4', 'in-progress'],
  ]);
  expect(shown.summary).toEqual({ total: 5, byState: { ...zero, done: 3, failed: 1, 'in-progress': 1 }, changed: 3 });
  expect(shown.groups.map((g) => g.done)).toEqual([2, 1]);
});

test('a batch that could not be asked (ended meanwhile) leaves the release as it knew it; no batches, no change', () => {
  expect(overlayLiveBatches(status, [undefined])).toEqual({ ...status });
  const without: ReleaseStatus = { ...status };
  delete without.batches;
  expect(overlayLiveBatches(without, [])).toBe(without);
});

test('pods in flight carry the step their attempt last heartbeated; pods no longer in flight do not', () => {
  const steps = new Map([
    ['p2', { step: 'drain', since: '2026-01-01T00:00:05Z', waitingFor: 'rpc to let go' }],
    ['p3', { step: 'mount' }],
  ]);
  const live = overlayLiveBatches(
    status,
    [[pod('p2', 1, 'in-progress'), pod('p3', 1, 'done', { changed: true, revision: 2 }), pod('p4', 1, 'pending')]],
    2,
    steps,
  );
  expect(live.pods.find((p) => p.name === 'p2')).toMatchObject({
    step: 'drain',
    stepSince: '2026-01-01T00:00:05Z',
    waitingFor: 'rpc to let go',
  });
  expect(live.pods.find((p) => p.name === 'p3')?.step).toBeUndefined();
});
