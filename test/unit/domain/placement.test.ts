import {
  AppSpecSchema,
  DomainError,
  effectiveScope,
  parseReleaseRequest,
  placedCells,
  planRelease,
  PlacementSchema,
  type Revision,
} from '../../../domain/index.js';
import { placementIssues } from '../../../api/app-placement.js';

/** Placement by clusters and masks naming clusters: parsed, resolved and refused in pure code. */
const issuesOf = (schema: { safeParse: (v: unknown) => { error?: { issues: { path: PropertyKey[]; message: string }[] } } }, v: unknown) =>
  schema.safeParse(v).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];

test('a placement names cells, clusters or both; never nothing, never one twice', () => {
  expect(PlacementSchema.parse({ clusters: ['kc1'] })).toEqual({ cells: [], clusters: ['kc1'] });
  expect(PlacementSchema.parse({ cells: ['rz00a'], clusters: ['kc2'] })).toEqual({ cells: ['rz00a'], clusters: ['kc2'] });
  expect(issuesOf(PlacementSchema, {})).toEqual([': placement must name at least one cell or cluster']);
  expect(issuesOf(PlacementSchema, { cells: [], clusters: [] })).toEqual([': placement must name at least one cell or cluster']);
  expect(issuesOf(PlacementSchema, { clusters: ['kc1', 'kc1'] })).toEqual(['clusters: clusters must not repeat']);
  expect(issuesOf(PlacementSchema, { clusters: ['KC1'] })).toHaveLength(1);
  expect(issuesOf(PlacementSchema, { regions: ['eu'] })).toContain(': Unrecognized key: "regions"');
});

test('a mask is a list of cells or {cells, clusters}; empty, or of the wrong shape, is refused naming mask', () => {
  const mask = (m: unknown) => parseReleaseRequest({ app: 'pay', tenant: 'acme', requestedBy: 'a', mask: m }).mask;
  expect(mask(['rz00a'])).toEqual({ cells: ['rz00a'] });
  expect(mask({ clusters: ['kc1'] })).toEqual({ clusters: ['kc1'] });
  const refused = (m: unknown) => {
    try {
      mask(m);
    } catch (err) {
      expect(err).toBeInstanceOf(DomainError);
      return (err as DomainError).issues.map((i) => `${i.field}: ${i.message}`);
    }
    throw new Error('expected a refusal');
  };
  expect(refused([])).toEqual(['mask: a mask must name at least one cell or cluster']);
  expect(refused({})).toEqual(['mask: a mask must name at least one cell or cluster']);
  expect(refused('rz00a')).toEqual(['mask: mask must be a list of cells, or {cells: [...], clusters: [...]}']);
  expect(refused({ clusters: ['kc1'], racks: ['r1'] })[0]).toMatch(/^mask: /);
  expect(refused({ clusters: [7] })[0]).toMatch(/^mask\.clusters\[0\]: /);
});

test('the cells of a placement: named cells first, then each cluster’s sorted, each once', () => {
  expect(placedCells({ cells: ['rz09a'], clusters: ['kc2', 'kc1'] }, { kc1: ['rz00b', 'rz00a'], kc2: ['rz01a', 'rz09a'] })).toEqual([
    'rz09a',
    'rz01a',
    'rz00a',
    'rz00b',
  ]);
});

test('a mask of clusters keeps the placement cells in them; what it names outside the placement is reported', () => {
  const clusterOf = (cell: string) => ({ rz00a: 'kc1', rz00b: 'kc1', rz01a: 'kc2' })[cell];
  const placement = ['rz00a', 'rz00b', 'rz01a'];
  expect(effectiveScope(placement, { clusters: ['kc1'] }, clusterOf)).toEqual({
    scope: ['rz00a', 'rz00b'],
    outside: { cells: [], clusters: [] },
  });
  expect(effectiveScope(placement, { cells: ['rz01a'], clusters: ['kc1'] }, clusterOf).scope).toEqual(placement);
  // releases started before clusters could be named carry a plain list
  expect(effectiveScope(placement, ['rz01a'], clusterOf).scope).toEqual(['rz01a']);
  expect(effectiveScope(placement, { cells: ['rz77a'], clusters: ['kc9'] }, clusterOf).outside).toEqual({
    cells: ['rz77a'],
    clusters: ['kc9'],
  });
});

test('a release masked to a cluster without cells of the placement is refused naming mask.clusters', () => {
  const app = AppSpecSchema.parse({
    name: 'pay',
    tenant: 'acme',
    workspace: 'prod',
    replicasPerCell: 2,
    template: { containers: [{ name: 'app', image: 'pay:1' }] },
    placement: { cells: ['rz00a', 'rz01a'] },
  });
  const to: Revision = { number: 2, template: app.template, replicasPerCell: 2, overrides: {}, createdAt: '', createdBy: 'x' };
  const plan = (mask: unknown) =>
    planRelease({
      app,
      namespace: 'acme-prod',
      from: undefined,
      to,
      request: parseReleaseRequest({ app: 'pay', tenant: 'acme', requestedBy: 'x', mask }),
      clusterOf: (cell) => (cell === 'rz00a' ? 'kc1' : 'kc2'),
    });
  expect(plan({ clusters: ['kc2'] }).cells.map((c) => c.cell)).toEqual(['rz01a']);
  expect(() => plan({ clusters: ['kc3'] })).toThrow(/clusters kc3 hold no cell of the placement of pay/);
  try {
    plan({ clusters: ['kc3'], cells: ['rz99z'] });
  } catch (err) {
    expect((err as DomainError).issues.map((i) => i.field)).toEqual(['mask.cells', 'mask.clusters']);
  }
});

test('overrides for cells outside the named cells are left to the clusters when the placement names clusters', () => {
  const spec = {
    name: 'pay',
    tenant: 'acme',
    workspace: 'prod',
    replicasPerCell: 2,
    template: { containers: [{ name: 'app', image: 'pay:1' }] },
    overrides: { rz00a: { replicas: 3 } },
  };
  expect(AppSpecSchema.safeParse({ ...spec, placement: { clusters: ['kc1'] } }).success).toBe(true);
  expect(AppSpecSchema.safeParse({ ...spec, placement: { cells: ['rz01a'] } }).success).toBe(false);
});

test('placement checks: a cell named twice, unknown and empty clusters, overrides outside the placement', () => {
  const issues = placementIssues(
    {
      tenant: 'acme',
      placement: { cells: ['rz00a', 'rz02a'], clusters: ['kc1', 'kc9', 'kc6'] },
      overrides: { rz05a: { replicas: 1 } },
      clusterOverrides: { kc3: { replicas: 1 } },
    },
    {
      cells: [
        { cell: 'rz00a', outcome: 'found', cluster: 'kc1' },
        { cell: 'rz02a', outcome: 'found', cluster: 'kc3' },
      ],
      clusters: [
        { cluster: 'kc1', outcome: 'found', cells: ['rz00a', 'rz00b'] },
        { cluster: 'kc9', outcome: 'unknown' },
        { cluster: 'kc6', outcome: 'empty' },
      ],
    },
  );
  expect(issues).toEqual([
    { field: 'placement.cells[0]', message: 'cell rz00a is in cluster kc1, which placement.clusters names already: name it once' },
    { field: 'placement.clusters[1]', message: 'cluster kc9 is not a cluster Barista knows' },
    { field: 'placement.clusters[2]', message: 'cluster kc6 has no cells of tenant acme' },
  ]);
  // overrides are judged once every cell and cluster answered
  const answered = placementIssues(
    {
      tenant: 'acme',
      placement: { cells: ['rz02a'], clusters: ['kc1'] },
      overrides: { rz00b: { replicas: 1 }, rz05a: { replicas: 1 } },
      clusterOverrides: { kc3: { replicas: 1 }, kc6: { replicas: 1 } },
    },
    {
      cells: [{ cell: 'rz02a', outcome: 'found', cluster: 'kc3' }],
      clusters: [{ cluster: 'kc1', outcome: 'found', cells: ['rz00a', 'rz00b'] }],
    },
  );
  expect(answered).toEqual([
    { field: 'overrides.rz05a', message: 'cell rz05a is not in the placement: overrides apply to placement cells only' },
    { field: 'clusterOverrides.kc6', message: 'cluster kc6 holds no cell of the placement (kc1, kc3)' },
  ]);
});
