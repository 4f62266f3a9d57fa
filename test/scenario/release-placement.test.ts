import type { V1Pod } from '@kubernetes/client-node';
import { DomainError } from '../../domain/index.js';
import { appReleaseId } from '../../workflows/app-release.js';
import { uniqueName } from '../support/sandbox.js';
import { appPods, imageOf, startReleaseHarness, type ReleaseHarness } from '../support/release-harness.js';

/**
 * Placement by cluster on the real sandbox (test/fixtures/topology.yaml: tenant acme has rz00a, rz00b on kc1 and
 * rz01a, rz01b on kc2): a cluster named in the placement brings all its cells of the tenant, looked up when the
 * release plans; overrides per cluster and per cell reach the pods with the documented precedence (cell over
 * cluster over template); a mask can name a cluster. Bad placements and masks are refused naming the field.
 */
const ns = 'acme-prod';
let h: ReleaseHarness;
beforeAll(async () => {
  h = await startReleaseHarness();
});
afterAll(async () => {
  await h?.stop();
});

const app = (name: string, image: string, placement: unknown, extra: Record<string, unknown> = {}) => ({
  name,
  tenant: 'acme',
  workspace: 'prod',
  template: { containers: [{ name: 'app', image, env: { ZONE: 'template', TIER: 'template', COLOR: 'blue' } }] },
  replicasPerCell: 1,
  placement,
  ...extra,
});
const envOf = (pod: V1Pod) => Object.fromEntries((pod.spec?.containers[0]?.env ?? []).map((e) => [e.name, e.value]));

async function refusal(what: Promise<unknown>): Promise<string[]> {
  const err = await what.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DomainError);
  return (err as DomainError).issues.map((i) => `${i.field}: ${i.message}`);
}

test('a placement naming a cluster releases every cell of the tenant there; cell over cluster over template overrides reach the pods; a mask naming a cluster changes only its cells', async () => {
  const name = uniqueName('placed');
  const overrides = {
    clusterOverrides: { kc2: { replicas: 2, env: { ZONE: 'kc2', TIER: 'cluster' } } },
    overrides: { rz01b: { env: { ZONE: 'rz01b' } } },
  };
  const { revision } = await h.releases.upsertApp(
    app(name, 'registry.local/placed:1', { cells: ['rz00a'], clusters: ['kc2'] }, overrides),
    'alice',
  );
  const first = await h.releases.startRelease({ app: name, tenant: 'acme', revision, requestedBy: 'alice', strategy: { groups: 1 } });
  const done = await h.releases.result(first);
  expect(done.state).toBe('succeeded');
  // the plan holds the cells the cluster had when the release planned, and says so in the audit trail
  expect([...new Set(done.pods.map((p) => `${p.cell}@${p.cluster}`))].sort()).toEqual(['rz00a@kc1', 'rz01a@kc2', 'rz01b@kc2']);
  expect(done.audit.find((e) => e.action === 'placement')?.detail).toBe('cluster kc2: cells rz01a, rz01b');

  const kc1 = await appPods(h.sandbox, 'kc1', ns, name);
  const kc2 = await appPods(h.sandbox, 'kc2', ns, name);
  expect(kc1.map((p) => p.metadata?.name)).toEqual([`${name}-rz00a-0`]); // rz00b: not in the placement
  expect(envOf(kc1[0]!)).toEqual({ ZONE: 'template', TIER: 'template', COLOR: 'blue' });
  const byName = new Map(kc2.map((p) => [p.metadata!.name!, envOf(p)]));
  expect([...byName.keys()].sort()).toEqual([`${name}-rz01a-0`, `${name}-rz01a-1`, `${name}-rz01b-0`, `${name}-rz01b-1`]); // kc2: 2 replicas
  expect(byName.get(`${name}-rz01a-0`)).toEqual({ ZONE: 'kc2', TIER: 'cluster', COLOR: 'blue' });
  expect(byName.get(`${name}-rz01b-1`)).toEqual({ ZONE: 'rz01b', TIER: 'cluster', COLOR: 'blue' });

  // a release masked to kc1 changes rz00a only
  await h.releases.upsertApp(app(name, 'registry.local/placed:2', { cells: ['rz00a'], clusters: ['kc2'] }, overrides), 'alice');
  const masked = await h.releases.startRelease({
    app: name,
    tenant: 'acme',
    requestedBy: 'alice',
    mask: { clusters: ['kc1'] },
    strategy: { groups: 1 },
  });
  const maskedDone = await h.releases.result(masked);
  expect(maskedDone.state).toBe('succeeded');
  expect(maskedDone.pods.map((p) => p.name)).toEqual([`${name}-rz00a-0`]);
  expect((await appPods(h.sandbox, 'kc1', ns, name)).map(imageOf)).toEqual(['registry.local/placed:2']);
  expect((await appPods(h.sandbox, 'kc2', ns, name)).map(imageOf)).toEqual(Array(4).fill('registry.local/placed:1'));
});

test('bad placements and masks naming clusters are refused naming the field, and nothing is registered or started', async () => {
  const name = uniqueName('badplace');
  const image = 'registry.local/placed:1';
  // kc3 is globex's: acme is told only that it has no cells there
  expect(await refusal(h.releases.upsertApp(app(name, image, { clusters: ['kc3'] }), 'alice'))).toEqual([
    'placement.clusters[0]: cluster kc3 has no cells of tenant acme',
  ]);
  expect(await refusal(h.releases.upsertApp(app(name, image, { clusters: ['kc99'] }), 'alice'))).toEqual([
    'placement.clusters[0]: cluster kc99 is not a cluster Barista knows',
  ]);
  expect(await refusal(h.releases.upsertApp(app(name, image, { cells: ['rz01a'], clusters: ['kc2'] }), 'alice'))).toEqual([
    'placement.cells[0]: cell rz01a is in cluster kc2, which placement.clusters names already: name it once',
  ]);
  expect(
    await refusal(h.releases.upsertApp(app(name, image, { clusters: ['kc2'] }, { clusterOverrides: { kc1: { replicas: 2 } } }), 'alice')),
  ).toEqual(['clusterOverrides.kc1: cluster kc1 holds no cell of the placement (kc2)']);
  expect(await refusal(h.releases.upsertApp(app(name, image, {}), 'alice'))).toEqual([
    'placement: placement must name at least one cell or cluster',
  ]);
  expect(await h.releases.getApp('acme', name)).toBeUndefined();

  await h.releases.upsertApp(app(name, image, { clusters: ['kc1'] }), 'alice');
  expect(await refusal(h.releases.startRelease({ app: name, tenant: 'acme', requestedBy: 'alice', mask: { clusters: ['kc2'] } }))).toEqual([
    'mask.clusters: clusters kc2 hold no cell of the placement of ' + name + ' (rz00a, rz00b)',
  ]);
  expect(await refusal(h.releases.startRelease({ app: name, tenant: 'acme', requestedBy: 'alice', mask: { racks: ['r1'] } }))).toContain(
    'mask: mask must be a list of cells, or {cells: [...], clusters: [...]}',
  );
  // no release was started
  const described = await h.client.workflow
    .getHandle(appReleaseId('acme', name))
    .describe()
    .catch((e: Error) => e.name);
  expect(described).toBe('WorkflowNotFoundError');
});
