import {
  aggregateFigures,
  auditStats,
  nearestRank,
  pausedMillis,
  releaseFigures,
  type ReleaseAuditEntry,
  type ReleaseFigures,
  type ReleaseRun,
} from '../../../domain/audit-stats.js';

/** Review statistics from a release's audit entries: outcome, lead time, time paused; and their aggregates. */
const T0 = Date.UTC(2026, 10, 26, 12, 0, 0);
/** An entry `s` seconds after T0: [s, action, detail?, actor?]. */
type Step = [number, string, string?, string?];
const entries = (steps: Step[]): ReleaseAuditEntry[] =>
  steps.map(([s, action, detail, actor]) => ({
    at: new Date(T0 + s * 1000).toISOString(),
    actor: actor ?? 'barista',
    action,
    ...(detail !== undefined ? { detail } : {}),
  }));
const run = (app: string, steps: Step[]): ReleaseRun => ({ app, entries: entries(steps) });

describe('the outcome and lead time of one release come from its requested and finished entries', () => {
  test.each<[string, Step[], ReleaseFigures['outcome'], boolean, number | undefined]>([
    [
      'succeeded',
      [
        [0, 'requested'],
        [90, 'finished', 'all 4 pods at revision 2'],
      ],
      'succeeded',
      false,
      90,
    ],
    [
      'succeeded with skipped cells',
      [
        [0, 'requested'],
        [60, 'finished', 'pods of 1 cells at revision 2; skipped: rz01a (kc2)'],
      ],
      'succeeded-with-skips',
      false,
      60,
    ],
    [
      'failed',
      [
        [0, 'requested'],
        [30, 'finished', 'failed: image pull'],
      ],
      'failed',
      false,
      30,
    ],
    [
      'aborted',
      [
        [0, 'requested'],
        [5, 'abort-requested', 'stop'],
        [45, 'finished', 'aborted; changed pods: p-0'],
      ],
      'aborted',
      false,
      45,
    ],
    [
      'stopped before planning',
      [
        [0, 'requested'],
        [2, 'finished', 'stopped before any cell was resolved; nothing changed'],
      ],
      'aborted',
      false,
      2,
    ],
    [
      'rolled back',
      [
        [0, 'requested'],
        [50, 'rollback-started', 'to revision 1'],
        [120, 'finished', 'rolled back 2 pods to revision 1'],
      ],
      'rolled-back',
      true,
      120,
    ],
    [
      'a rollback stopped by an abort ends aborted',
      [
        [0, 'requested'],
        [50, 'rollback-started', 'to revision 1'],
        [60, 'abort-requested'],
        [70, 'finished', 'rolled back 2 pods to revision 1'],
      ],
      'aborted',
      true,
      70,
    ],
    [
      'a rollback that failed',
      [
        [0, 'requested'],
        [50, 'rollback-started', 'to revision 1'],
        [80, 'finished', 'failed: forbidden'],
      ],
      'failed',
      true,
      80,
    ],
    [
      'in flight',
      [
        [0, 'requested'],
        [40, 'group-started'],
      ],
      undefined,
      false,
      undefined,
    ],
  ])('%s', (_, steps, outcome, rolledBack, leadTimeSeconds) => {
    expect(releaseFigures(run('pay', steps))).toMatchObject({ app: 'pay', outcome, rolledBack, leadTimeSeconds });
  });

  test('a run whose requested entry is missing is not a release of the range', () => {
    expect(releaseFigures(run('pay', [[10, 'finished', 'all 1 pods at revision 2']]))).toBeUndefined();
  });
});

describe('time paused sums the pauses as the release tracker keeps them', () => {
  test.each<[string, Step[], number]>([
    [
      'none',
      [
        [0, 'requested'],
        [100, 'finished', 'all'],
      ],
      0,
    ],
    [
      'two operator pauses',
      [
        [0, 'requested'],
        [10, 'paused', 'look', 'alice'],
        [40, 'resumed', undefined, 'alice'],
        [50, 'paused'],
        [55, 'resumed'],
        [60, 'finished'],
      ],
      35,
    ],
    [
      'pausing again while paused keeps the first start',
      [
        [10, 'paused'],
        [20, 'paused'],
        [50, 'resumed'],
      ],
      40,
    ],
    [
      'a resume while running counts nothing',
      [
        [10, 'resumed'],
        [20, 'paused'],
        [25, 'resumed'],
        [90, 'resumed'],
      ],
      5,
    ],
    [
      'a failed pod pauses until resumed',
      [
        [0, 'requested'],
        [10, 'pod-failed', 'p-1 at upgrade: boom'],
        [70, 'resumed'],
      ],
      60,
    ],
    [
      'skipping the failed pod resumes',
      [
        [10, 'pod-failed', 'p-1 at upgrade: boom'],
        [25, 'skip-pod', 'p-1: broken node'],
        [90, 'finished'],
      ],
      15,
    ],
    [
      'skipping another pod does not',
      [
        [10, 'pod-failed', 'p-1 at upgrade: boom'],
        [25, 'skip-pod', 'p-2'],
        [90, 'resumed'],
      ],
      80,
    ],
    [
      'a failed step pauses',
      [
        [10, 'step-failed', 'workload did not succeed in time'],
        [30, 'resumed'],
      ],
      20,
    ],
    [
      'approving the failed gate resumes',
      [
        [10, 'gate-failed', 'group 1: restarts'],
        [40, 'approved', 'group 1', 'alice'],
      ],
      30,
    ],
    [
      'approving another group does not',
      [
        [10, 'gate-failed', 'group 1: restarts'],
        [40, 'approved', 'group 2'],
        [50, 'resumed'],
      ],
      40,
    ],
    [
      'promote-all passes the failed gate',
      [
        [10, 'gate-failed', 'group 0: restarts'],
        [15, 'promote-all'],
      ],
      5,
    ],
    [
      'promote-all does not resume a failed pod',
      [
        [10, 'pod-failed', 'p-1 at drain: x'],
        [15, 'promote-all'],
        [30, 'resumed'],
      ],
      20,
    ],
    [
      'an abort ends the wait',
      [
        [10, 'paused'],
        [30, 'abort-requested'],
        [90, 'finished', 'aborted; changed pods: none'],
      ],
      20,
    ],
    [
      'an operator rollback ends the wait',
      [
        [10, 'pod-failed', 'p-1 at ready: x'],
        [30, 'rollback-requested'],
        [31, 'rollback-started'],
      ],
      20,
    ],
    [
      'onFailure rollback never paused',
      [
        [10, 'pod-failed', 'p-1 at ready: x'],
        [12, 'rollback-started', 'to revision 1'],
        [40, 'finished', 'rolled back 1 pods'],
      ],
      0,
    ],
    [
      'an operator pause ended by a rollback barista started is counted',
      [
        [10, 'paused', undefined, 'alice'],
        [12, 'pod-failed', 'p-1 at ready: x'],
        [20, 'rollback-started'],
      ],
      10,
    ],
    [
      'a failure in the rollback pauses it',
      [
        [10, 'rollback-started'],
        [20, 'pod-failed', 'p-1 at upgrade: x'],
        [50, 'resumed'],
      ],
      30,
    ],
    [
      'still paused: up to the last entry',
      [
        [10, 'paused'],
        [25, 'approve-rejected'],
      ],
      15,
    ],
  ])('%s', (_, steps, seconds) => {
    expect(pausedMillis(entries(steps))).toBe(seconds * 1000);
  });
});

test.each<[number[], number, number]>([
  // nearest rank, not interpolation: 1..10 → p50 is 5 (interpolated: 5.5), p90 is 9 (interpolated: 9.1)
  [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50, 5],
  [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90, 9],
  [[10, 20, 30, 40], 50, 20],
  [[10, 20, 30, 40, 100], 90, 100],
  [[7], 90, 7],
  [[7], 50, 7],
])('nearest rank of %j at p%d is %d', (sorted, p, expected) => {
  expect(nearestRank(sorted, p)).toBe(expected);
});

const figures = (outcome: ReleaseFigures['outcome'], lead?: number, paused = 0, rolledBack = false, app = 'pay'): ReleaseFigures => ({
  app,
  requestedAt: new Date(T0).toISOString(),
  outcome,
  rolledBack,
  leadTimeSeconds: lead,
  pausedSeconds: paused,
});

test('rates and means are over finished releases; in-flight ones are only counted', () => {
  expect(
    aggregateFigures([
      figures('succeeded', 10, 0),
      figures('succeeded-with-skips', 20, 30),
      figures('failed', 30, 0),
      figures('rolled-back', 40, 50, true),
      figures('aborted', 100, 20, true),
      figures(undefined, undefined, 500),
    ]),
  ).toEqual({
    releases: 6,
    finished: 5,
    inFlight: 1,
    succeeded: 2,
    failed: 1,
    rolledBack: 2,
    aborted: 1,
    failureRate: 0.2,
    rollbackRate: 0.4,
    abortRate: 0.2,
    leadTimeSeconds: { mean: 40, p50: 30, p90: 100 },
    meanPausedSeconds: 20,
  });
});

test('without a finished release there are no rates or means', () => {
  expect(aggregateFigures([figures(undefined)])).toMatchObject({
    releases: 1,
    inFlight: 1,
    failureRate: null,
    leadTimeSeconds: null,
    meanPausedSeconds: null,
  });
  expect(aggregateFigures([])).toMatchObject({ releases: 0, finished: 0, rollbackRate: null, abortRate: null });
});

test('a tenant: its total and each app by name', () => {
  const stats = auditStats([
    run('shop', [
      [0, 'requested'],
      [60, 'finished', 'failed: x'],
    ]),
    run('pay', [
      [0, 'requested'],
      [10, 'paused'],
      [40, 'resumed'],
      [100, 'finished', 'all 2 pods at revision 3'],
    ]),
    run('pay', [
      [0, 'requested'],
      [300, 'finished', 'all 2 pods at revision 4'],
    ]),
    run('pay', [[5, 'placement', 'cluster kc1: cells rz00a']]), // its requested entry is outside the range
  ]);
  expect(stats.apps.map((a) => [a.app, a.releases, a.failureRate, a.leadTimeSeconds?.mean, a.meanPausedSeconds])).toEqual([
    ['pay', 2, 0, 200, 15],
    ['shop', 1, 1, 60, 0],
  ]);
  expect(stats.total).toMatchObject({
    releases: 3,
    failed: 1,
    failureRate: 1 / 3,
    leadTimeSeconds: { mean: (100 + 300 + 60) / 3, p50: 100, p90: 300 },
    meanPausedSeconds: 10,
  });
});
