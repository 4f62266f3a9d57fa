import type { AppSpec, Revision } from '../../../domain/app.js';
import { previewRun } from '../../../domain/plan-preview.js';
import { parseReleaseRequest } from '../../../domain/release.js';
import { planReleaseRun } from '../../../domain/release-run.js';

const app: AppSpec = {
  name: 'shop',
  tenant: 'acme',
  workspace: 'prod',
  template: { containers: [{ name: 'web', image: 'shop:1' }] },
  replicasPerCell: 2,
  placement: { cells: ['rz00a', 'rz01a'] },
  overrides: {},
  traffic: [{ name: 'service', deregistrationTimeoutSeconds: 45 }],
};
const revision = (number: number, image: string, more: Partial<Revision> = {}): Revision => ({
  number,
  template: { containers: [{ name: 'web', image }] },
  replicasPerCell: 2,
  overrides: {},
  createdAt: '2026-01-01T00:00:00Z',
  createdBy: 'rita',
  ...more,
});
const clusterOf = (cell: string) => ({ rz00a: 'kc1', rz01a: 'kc2' })[cell];
const request = (strategy: unknown, more: Record<string, unknown> = {}) =>
  parseReleaseRequest({ app: 'shop', tenant: 'acme', requestedBy: 'rita', strategy, ...more });

describe('planReleaseRun: the plan the release workflow runs', () => {
  test('cluster overrides are folded into each cell before planning (replicas of the cell over its cluster)', () => {
    const to = revision(2, 'shop:2', { clusterOverrides: { kc2: { replicas: 4 } } });
    const run = planReleaseRun({
      app,
      namespace: 'acme-prod',
      from: revision(1, 'shop:1'),
      to,
      request: request({ groups: 2 }),
      clusterOf,
    });
    expect(run.plan.cells.map((c) => [c.cell, c.cluster, c.replicas])).toEqual([
      ['rz00a', 'kc1', 2],
      ['rz01a', 'kc2', 4],
    ]);
    expect(run.to.overrides.rz01a).toEqual({ replicas: 4 });
    expect(run.firstRelease).toBe(false);
    expect(run.plan.groups.flatMap((g) => g.pods)).toHaveLength(6);
  });

  test('a first release creates pods from ordinal 0 up, unless the workflow says it predates that (its patch)', () => {
    const input = { app, namespace: 'acme-prod', from: undefined, to: revision(1, 'shop:1'), request: request({ groups: 2 }), clusterOf };
    const first = planReleaseRun(input);
    expect(first.firstRelease).toBe(true);
    expect(first.plan.groups[0]!.pods.map((p) => p.name)).toEqual(['shop-rz00a-0', 'shop-rz01a-0']);
    const asked: boolean[] = [];
    const old = planReleaseRun({ ...input, firstReleaseByGroup: () => (asked.push(true), false) });
    expect(old.firstRelease).toBe(false);
    expect(old.plan.groups[0]!.pods.map((p) => p.name)).toEqual(['shop-rz00a-1', 'shop-rz01a-1']);
    expect(asked).toHaveLength(1);
    // asked only for a first release that planned (the workflow's patch marker is written at that point only)
    expect(() => planReleaseRun({ ...input, request: request({ groups: 9 }), firstReleaseByGroup: () => asked.push(true) > 0 })).toThrow(
      /strategy\.groups/,
    );
    planReleaseRun({ ...input, from: revision(1, 'shop:0'), firstReleaseByGroup: () => asked.push(true) > 0 });
    expect(asked).toHaveLength(1);
  });
});

describe('previewRun: what a dry run answers', () => {
  const from = revision(1, 'shop:1');
  const to = revision(2, 'shop:2', { replicasPerCell: 3 });
  const preview = (strategy: unknown, more: Record<string, unknown> = {}) => {
    const req = request(strategy, more);
    return previewRun(planReleaseRun({ app, namespace: 'acme-prod', from, to, request: req, clusterOf }), { from, to }, req, ['a notice']);
  };

  test('groups with their pods per cell, a gate between every two groups, deadlines, the diff', () => {
    const p = preview({ beta: 'per-cell', groups: 2, podTimeoutSeconds: 120, gate: { type: 'manual', timeoutSeconds: 600 } });
    expect(p).toMatchObject({ dryRun: true, app: 'shop', tenant: 'acme', from: 1, to: 2, pods: 6, mode: 'normal', firstRelease: false });
    expect(p.groups).toEqual([
      {
        index: 0,
        beta: true,
        size: 2,
        pods: ['shop-rz00a-2', 'shop-rz01a-2'],
        cells: { rz00a: ['shop-rz00a-2'], rz01a: ['shop-rz01a-2'] },
      },
      {
        index: 1,
        beta: false,
        size: 2,
        pods: ['shop-rz00a-1', 'shop-rz01a-1'],
        cells: { rz00a: ['shop-rz00a-1'], rz01a: ['shop-rz01a-1'] },
      },
      {
        index: 2,
        beta: false,
        size: 2,
        pods: ['shop-rz00a-0', 'shop-rz01a-0'],
        cells: { rz00a: ['shop-rz00a-0'], rz01a: ['shop-rz01a-0'] },
      },
    ]);
    expect(p.gates).toEqual([
      { afterGroup: 0, type: 'manual', timeoutSeconds: 600, onFailure: 'pause' },
      { afterGroup: 1, type: 'manual', timeoutSeconds: 600, onFailure: 'pause' },
    ]);
    expect(p.deadlines).toEqual({
      podTimeoutSeconds: 120,
      gateTimeoutSeconds: 600,
      trafficComponents: [{ name: 'service', deregistrationTimeoutSeconds: 45 }],
    });
    expect(p.diff.changes.map((c) => c.text)).toEqual(['container web: image shop:1 → shop:2', 'replicas per cell 2 → 3']);
    expect(p.notices).toEqual(['a notice']);
    expect(p.strategy).toMatchObject({ maxConcurrentPods: 10, mode: 'in-place', onFailure: 'pause' });
  });

  test("an auto gate's timeout is its default when not given; its checks are shown as given; a timed gate its pause", () => {
    const checks = [{ name: 'errors', type: 'prometheus', query: 'sum(up)', successCondition: 'result > 0' }];
    const auto = preview({ groups: 2, onFailure: 'rollback', gate: { type: 'auto', windowSeconds: 40, checks } });
    expect(auto.gates).toEqual([
      {
        afterGroup: 0,
        type: 'auto',
        windowSeconds: 40,
        timeoutSeconds: 120,
        onFailure: 'rollback',
        checks: [expect.objectContaining(checks[0]!)],
      },
    ]);
    expect(auto.deadlines.gateTimeoutSeconds).toBe(120);
    expect(preview({ groups: 2, gate: { type: 'auto' } }).gates[0]!.timeoutSeconds).toBe(90);
    expect(preview({ groups: 2, gate: { type: 'timed', seconds: 15 } }).gates).toEqual([
      { afterGroup: 0, type: 'timed', seconds: 15, onFailure: 'pause' },
    ]);
    // one group: no gate; a manual gate without a timeout has no deadline
    expect(preview({ groups: 1 }).gates).toEqual([]);
    expect(preview({ groups: 2 }).deadlines).not.toHaveProperty('gateTimeoutSeconds');
  });

  test('the budget and the mask', () => {
    const p = preview({ groups: 1, maxUnavailable: 2 }, { mask: ['rz00a'], mode: 'disaster' });
    expect(p.cells.map((c) => c.cell)).toEqual(['rz00a']);
    expect(p.budget).toEqual({
      maxUnavailable: 2,
      clusters: [
        { name: 'kc1', pods: 3 },
        { name: 'kc2', pods: 3 },
      ],
    });
    expect(p.mode).toBe('disaster');
  });
});
