import type { Revision } from '../../../domain/app.js';
import { diffRevisions } from '../../../domain/revision-diff.js';

const base: Revision = {
  number: 3,
  template: {
    containers: [
      { name: 'web', image: 'registry.local/shop:1', env: { LOG_LEVEL: 'info', REGION: 'eu' } },
      { name: 'proxy', image: 'envoy:1.30' },
    ],
    annotations: { 'example.com/team': 'pay' },
    labels: { tier: 'front' },
  },
  replicasPerCell: 2,
  overrides: { rz00a: { replicas: 4 }, rz00b: { env: { SHARD: 'b' } } },
  createdAt: '2026-01-01T00:00:00Z',
  createdBy: 'rita',
};
const rev = (number: number, change: (r: Revision) => Partial<Revision>): Revision => ({ ...base, number, ...change(base) });
const texts = (a: Revision, b: Revision) => diffRevisions(a, b).changes.map((c) => c.text);

describe('diffRevisions', () => {
  test('the same content: no changes; numbers, authors and times are not content', () => {
    const same = rev(5, () => ({ createdBy: 'someone else', createdAt: '2027-01-01T00:00:00Z' }));
    expect(diffRevisions(base, same)).toEqual({ from: 3, to: 5, changes: [] });
  });

  test('an image, env added, changed and removed, per container', () => {
    const b = rev(4, (r) => ({
      template: {
        ...r.template,
        containers: [{ name: 'web', image: 'registry.local/shop:2', env: { LOG_LEVEL: 'debug', TRACE: 'on' } }, r.template.containers[1]!],
      },
    }));
    expect(diffRevisions(base, b).changes).toEqual([
      {
        field: 'template.containers[web].image',
        change: 'changed',
        from: 'registry.local/shop:1',
        to: 'registry.local/shop:2',
        text: 'container web: image registry.local/shop:1 → registry.local/shop:2',
      },
      {
        field: 'template.containers[web].env.LOG_LEVEL',
        change: 'changed',
        from: 'info',
        to: 'debug',
        text: 'container web: env LOG_LEVEL: info → debug',
      },
      { field: 'template.containers[web].env.REGION', change: 'removed', from: 'eu', text: 'container web: env REGION removed (was eu)' },
      { field: 'template.containers[web].env.TRACE', change: 'added', to: 'on', text: 'container web: env TRACE=on added' },
    ]);
  });

  test('containers added, removed and reordered; a field a container gains is compared whole', () => {
    const [web, proxy] = base.template.containers;
    const b = rev(4, (r) => ({
      template: {
        ...r.template,
        containers: [
          { name: 'sidecar', image: 'log:2', env: { OUT: 'stdout' } },
          { ...proxy!, resources: { cpu: '100m' } } as typeof proxy & object,
          web!,
        ],
      },
    }));
    const c = rev(5, (r) => ({ template: { ...r.template, containers: [web!] } }));
    expect(texts(base, b)).toEqual([
      'container sidecar added (image log:2, env OUT=stdout)',
      'container proxy: resources set to {"cpu":"100m"}',
      'containers reordered: web, proxy → proxy, web',
    ]);
    expect(texts(base, c)).toEqual(['container proxy removed (was image envoy:1.30)']);
  });

  test('pod annotations and labels, replicas per cell', () => {
    const b = rev(4, (r) => ({
      template: { ...r.template, annotations: { 'example.com/team': 'payments', 'example.com/owner': 'ops' }, labels: {} },
      replicasPerCell: 3,
    }));
    expect(texts(base, b)).toEqual([
      'pod annotation example.com/owner=ops added',
      'pod annotation example.com/team: pay → payments',
      'pod label tier removed (was front)',
      'replicas per cell 2 → 3',
    ]);
  });

  test('per-cell overrides: added, removed, replicas and env changed', () => {
    const b = rev(4, () => ({
      overrides: { rz00a: { replicas: 5 }, rz00b: { env: { SHARD: 'b2' }, annotations: { note: 'x' } }, rz00c: { replicas: 0 } },
    }));
    const c = rev(5, () => ({ overrides: { rz00b: { env: { SHARD: 'b' } } } }));
    expect(texts(base, b)).toEqual([
      'cell rz00a: replicas 4 → 5',
      'cell rz00b: env SHARD: b → b2',
      'cell rz00b: annotation note=x added',
      'cell rz00c: override added (replicas 0)',
    ]);
    expect(diffRevisions(base, c).changes).toEqual([
      { field: 'overrides.rz00a', change: 'removed', from: { replicas: 4 }, text: 'cell rz00a: override removed (was replicas 4)' },
    ]);
  });

  test('per-cluster overrides; none, empty and absent are the same', () => {
    const b = rev(4, () => ({ clusterOverrides: { kc1: { replicas: 1, env: { ZONE: 'k1' } } } }));
    expect(texts(base, b)).toEqual(['cluster kc1: override added (replicas 1, env ZONE=k1)']);
    expect(texts(b, base)).toEqual(['cluster kc1: override removed (was replicas 1, env ZONE=k1)']);
    expect(
      texts(
        base,
        rev(5, () => ({ clusterOverrides: {} })),
      ),
    ).toEqual([]);
    expect(
      texts(
        base,
        rev(5, () => ({ clusterOverrides: { kc1: {} } })),
      ),
    ).toEqual([]);
  });

  test('metadata policy keys', () => {
    const b = rev(4, () => ({ metadataPolicy: { spec: ['example.com/*'], status: [] } }));
    expect(texts(base, b)).toEqual(['metadata policy spec keys set to ["example.com/*"]']);
  });

  test('reads backwards for a rollback: the older revision second', () => {
    const b = rev(4, (r) => ({
      template: {
        ...r.template,
        containers: [{ ...r.template.containers[0]!, image: 'registry.local/shop:2' }, r.template.containers[1]!],
      },
    }));
    expect(diffRevisions(b, base)).toMatchObject({
      from: 4,
      to: 3,
      changes: [{ text: 'container web: image registry.local/shop:2 → registry.local/shop:1' }],
    });
  });
});
