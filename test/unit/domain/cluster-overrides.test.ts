import { AppSpecSchema, sameContent, withClusterOverrides, type Revision } from '../../../domain/index.js';

/** Overrides per cluster and per cell: cell over cluster over template, field by field; env and annotations key by key. */
const revision = (o: Partial<Revision> = {}): Revision => ({
  number: 2,
  template: { containers: [{ name: 'app', image: 'pay:2', env: { LEVEL: 'template', REGION: 'none' } }] },
  replicasPerCell: 2,
  overrides: {},
  createdAt: '',
  createdBy: 'x',
  ...o,
});
const clusterOf = (cell: string) => ({ a: 'kc1', b: 'kc1', c: 'kc2' })[cell];

test('a cell takes its cluster’s override, and its own on top of it', () => {
  const r = withClusterOverrides(
    revision({
      clusterOverrides: { kc1: { replicas: 3, env: { LEVEL: 'cluster', REGION: 'north' }, annotations: { tier: 'gold' } } },
      overrides: { b: { replicas: 5, env: { LEVEL: 'cell' } }, c: { env: { LEVEL: 'cell' } } },
    }),
    ['a', 'b', 'c'],
    clusterOf,
  );
  expect(r.overrides).toEqual({
    a: { replicas: 3, env: { LEVEL: 'cluster', REGION: 'north' }, annotations: { tier: 'gold' } },
    b: { replicas: 5, env: { LEVEL: 'cell', REGION: 'north' }, annotations: { tier: 'gold' } },
    c: { env: { LEVEL: 'cell' } },
  });
  expect(r.clusterOverrides).toEqual({});
});

test('without cluster overrides the revision is used as it is', () => {
  const plain = revision({ overrides: { a: { replicas: 1 } } });
  expect(withClusterOverrides(plain, ['a', 'b'], clusterOf)).toBe(plain);
  expect(withClusterOverrides(revision({ clusterOverrides: {} }), ['a'], clusterOf).overrides).toEqual({});
});

test('no cluster overrides, absent or empty, is the same content: re-registering an App makes no new revision', () => {
  const content = { template: revision().template, replicasPerCell: 2, overrides: {} };
  expect(sameContent(content, { ...content, clusterOverrides: {} })).toBe(true);
  expect(sameContent(content, { ...content, clusterOverrides: { kc1: { replicas: 1 } } })).toBe(false);
});

test('an App may declare cluster overrides; their fields are checked like a cell’s', () => {
  const spec = {
    name: 'pay',
    tenant: 'acme',
    workspace: 'prod',
    replicasPerCell: 2,
    template: { containers: [{ name: 'app', image: 'pay:1' }] },
    placement: { cells: ['a'] },
  };
  expect(AppSpecSchema.parse({ ...spec, clusterOverrides: { kc1: { replicas: 3 } } }).clusterOverrides).toEqual({ kc1: { replicas: 3 } });
  expect(AppSpecSchema.safeParse({ ...spec, clusterOverrides: { kc1: { replicas: -1 } } }).success).toBe(false);
  expect(AppSpecSchema.safeParse({ ...spec, clusterOverrides: { KC1: {} } }).success).toBe(false);
});
