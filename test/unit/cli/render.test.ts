import { exitCodeFor, renderRelease } from '../../../cli/render.js';
import type { ReleaseStatus } from '../../../workflows/release-status.js';

const status: ReleaseStatus = {
  app: 'pay',
  tenant: 'acme',
  from: 1,
  to: 2,
  state: 'paused',
  currentGroup: 1,
  paused: {
    reason: 'timed out waiting for container app to become ready',
    pod: 'pay-a-0',
    step: 'await-ready',
    by: 'barista',
    since: '2026-01-01T00:00:00Z',
  },
  groups: [
    { index: 0, beta: true, pods: ['pay-a-1'] },
    { index: 1, beta: false, pods: ['pay-a-0'] },
  ],
  pods: [
    { name: 'pay-a-1', cell: 'a', cluster: 'kc1', group: 0, state: 'done' },
    { name: 'pay-a-0', cell: 'a', cluster: 'kc1', group: 1, state: 'failed', step: 'await-ready' },
  ],
  gates: [{ group: 0, type: 'manual', state: 'passed', decidedBy: 'carol' }],
  audit: [],
  changedPods: ['pay-a-1', 'pay-a-0'],
  startedAt: '2026-01-01T00:00:00Z',
};

test('the live view shows state, pause reason, groups with their pods and steps, and gates with who decided', () => {
  expect(renderRelease(status)).toEqual([
    'release acme/pay: revision 1 → 2   state PAUSED',
    '  PAUSED: timed out waiting for container app to become ready (pod pay-a-0, step await-ready) by barista',
    '  group 0 (beta): [████████████████████] 1/1 done',
    '    ✓ pay-a-1',
    '    gate manual: passed by carol',
    '  group 1 ◀: [░░░░░░░░░░░░░░░░░░░░] 0/1 done',
    '    ✗ pay-a-0 [await-ready]',
  ]);
});

test('exit codes: 0 done, 1 failed/aborted/rolled back, 2 needs a person, none while moving', () => {
  expect(exitCodeFor({ ...status, state: 'succeeded' })).toBe(0);
  expect(exitCodeFor({ ...status, state: 'aborted' })).toBe(1);
  expect(exitCodeFor({ ...status, state: 'rolled-back' })).toBe(1);
  expect(exitCodeFor({ ...status, state: 'paused' })).toBe(2);
  expect(exitCodeFor({ ...status, state: 'waiting-approval' })).toBe(2);
  expect(exitCodeFor({ ...status, state: 'running' })).toBeUndefined();
});

test('a one-group view of a large release: other groups by their counts, the current group by its notable pods', () => {
  const pods = Array.from({ length: 500 }, (_, i) => ({
    name: `pay-a-${i}`,
    cell: 'a',
    cluster: 'kc1',
    group: 1,
    state: i < 300 ? ('done' as const) : i === 300 ? ('failed' as const) : i < 305 ? ('in-progress' as const) : ('pending' as const),
    ...(i === 300 ? { step: 'drain' } : {}),
  }));
  const view: ReleaseStatus = {
    ...status,
    detail: 'group',
    groups: [
      { index: 0, beta: true, size: 10, done: 10, pods: [] },
      { index: 1, beta: false, size: 500, done: 300, pods: pods.map((p) => p.name) },
    ],
    pods,
  };
  expect(renderRelease(view).slice(2)).toEqual([
    '  group 0 (beta): [████████████████████] 10/10 done',
    '    gate manual: passed by carol',
    '  group 1 ◀: [████████████░░░░░░░░] 300/500 done',
    '    ✗ pay-a-300 [drain]  ▶ pay-a-301  ▶ pay-a-302  ▶ pay-a-303  ▶ pay-a-304  (495 more pending or done)',
  ]);
});

test('gate checks: each with its state and its latest measurements; a pause by a check names it and its query', () => {
  const measurement = (n: number, decision: 'pass' | 'fail', value: string) => ({
    at: `2026-01-01T00:00:0${n}.000Z`,
    decision,
    value,
    reason: decision === 'pass' ? 'result < 0.01 holds' : 'result < 0.01 does not hold',
  });
  const lines = renderRelease({
    ...status,
    paused: {
      reason: 'verification of group 0 failed: prometheus check "errors" failed',
      step: 'gate',
      by: 'barista',
      since: '2026-01-01T00:00:00Z',
      check: { name: 'errors', type: 'prometheus', state: 'failed', query: 'sum(rate(errors[1m]))', value: '0.2' },
    },
    gates: [
      {
        group: 0,
        type: 'auto',
        state: 'failed',
        checks: [
          {
            name: 'errors',
            type: 'prometheus',
            state: 'failed',
            round: 2,
            measurements: [
              measurement(1, 'pass', '0.001'),
              measurement(2, 'pass', '0.002'),
              measurement(3, 'pass', '0.003'),
              measurement(4, 'fail', '0.2'),
            ],
          },
        ],
      },
    ],
  });
  expect(lines).toEqual(
    expect.arrayContaining([
      '  CHECK errors (prometheus) failed: sum(rate(errors[1m]))',
      '      check errors (prometheus): failed, 4 measured, round 2',
      '        ✓ #2 00:00:02 0.002: result < 0.01 holds',
      '        ✓ #3 00:00:03 0.003: result < 0.01 holds',
      '        ✗ #4 00:00:04 0.2: result < 0.01 does not hold',
    ]),
  );
  expect(lines.some((l) => l.includes('#1 '))).toBe(false);
});

test('pods in flight show their step and time in it; a waiting gate its countdown', () => {
  const now = Date.parse('2026-01-01T00:01:00Z');
  const lines = renderRelease(
    {
      ...status,
      state: 'running',
      paused: undefined,
      pods: [
        { name: 'pay-a-1', cell: 'a', cluster: 'kc1', group: 0, state: 'in-progress', step: 'drain', stepSince: '2026-01-01T00:00:53Z' },
        { name: 'pay-a-0', cell: 'a', cluster: 'kc1', group: 1, state: 'pending' },
      ],
      gates: [{ group: 0, type: 'timed', state: 'waiting', since: '2026-01-01T00:00:00Z', until: '2026-01-01T00:02:15Z' }],
    },
    now,
  );
  expect(lines).toEqual(expect.arrayContaining(['    ▶ pay-a-1 [drain 7s]', '    gate timed: waiting passes in 1m15s']));
  const manual = renderRelease({ ...status, gates: [{ group: 0, type: 'manual', state: 'waiting', until: '2026-01-01T00:01:30Z' }] }, now);
  expect(manual).toContain('    gate manual: waiting times out in 30s');
});
