import { appEntityId } from '../../workflows/app-entity.js';
import { appQuery, upsertAppUpdate } from '../../workflows/definitions.js';
import { startWorkflowTestEnv, until, type WorkflowTestEnv } from './workflow-env.js';

/**
 * Disaster mode on the real AppRelease workflow (time-skipping server, fake activities whose probes and pod
 * steps a test makes fail): unreachable clusters' cells go into the ledger instead of pausing the release, and
 * the release ends `succeeded-with-skips`. The sandbox scenario (test/scenario/release-multi-cluster.test.ts) does
 * the same with real clusters stopped and frozen.
 */
let w: WorkflowTestEnv;
beforeAll(async () => {
  w = await startWorkflowTestEnv();
  w.cellClusters.set('dz00a', 'kc1');
  w.cellClusters.set('dz01a', 'kc2');
  w.cellClusters.set('dz02a', 'kc3');
}, 120_000);
afterAll(async () => {
  await w?.stop();
});
afterEach(() => {
  w.unreachable.clear();
  w.hanging.clear();
});

const cells = ['dz00a', 'dz01a', 'dz02a'];
let n = 0;
async function disasterRelease(strategy: Record<string, unknown>, mode: 'disaster' | 'normal' = 'disaster') {
  const app = `disaster-${++n}`;
  await w.registerApp(app, { revisions: 2, replicas: 2, cells });
  const ref = await w.releases.startRelease({ app, tenant: 'acme', requestedBy: 'alice', mode, strategy });
  return { app, ref };
}
const entity = (app: string) => w.env.client.workflow.getHandle(appEntityId('acme', app)).query(appQuery);

test('a cluster unreachable before the release: its cells go into the ledger, the rest is released, the release ends succeeded-with-skips', async () => {
  w.unreachable.add('kc2');
  const { app, ref } = await disasterRelease({ groups: 2, gate: { type: 'timed', seconds: 5 } });
  const final = await w.releases.result(ref);
  expect(final.state).toBe('succeeded-with-skips');
  expect(final.mode).toBe('disaster');
  expect(final.ledger).toEqual([
    expect.objectContaining({
      cell: 'dz01a',
      cluster: 'kc2',
      revision: 1,
      moved: [],
      midStep: [],
      reason: expect.stringMatching(/cluster kc2/),
    }),
  ]);
  const byCell = (cell: string) => final.pods.filter((p) => p.cell === cell);
  expect(byCell('dz01a').map((p) => p.state)).toEqual(['skipped', 'skipped']);
  expect([...byCell('dz00a'), ...byCell('dz02a')].every((p) => p.state === 'done')).toBe(true);
  // nothing was sent to kc2's pods
  expect(w.released.filter((r) => r.pod.includes('dz01a'))).toEqual([]);
  expect(final.audit.map((a) => a.action)).toEqual(expect.arrayContaining(['cluster-lost', 'cell-skipped']));
  expect(final.audit.at(-1)?.detail).toMatch(/skipped: dz01a \(kc2\)/);
  // the App records what each cell runs: the skipped cell still owes revision 2
  const record = await entity(app);
  expect(record?.released).toEqual({ dz00a: 2, dz01a: 1, dz02a: 2 });
  expect(record?.owed).toEqual({ dz01a: { cell: 'dz01a', cluster: 'kc2', revision: 2, release: ref.runId } });
});

test('a cluster lost mid-group: its pods in flight are recorded unknown, its other pods skipped, the release goes on elsewhere', async () => {
  w.hanging.add('kc2'); // kc2's pod steps hang, but it still answers probes: the group starts there
  const { ref } = await disasterRelease({ groups: 1, maxConcurrentPods: 6 });
  await until(w.releases, ref, 'a pod of kc2 in flight', () => [...w.inFlight].some((p) => p.includes('dz01a')));
  w.unreachable.add('kc2');
  const final = await w.releases.result(ref);
  expect(final.state).toBe('succeeded-with-skips');
  const lost = final.pods.filter((p) => p.cell === 'dz01a');
  expect(lost.some((p) => p.state === 'unknown')).toBe(true);
  expect(lost.every((p) => p.state === 'unknown' || p.state === 'skipped')).toBe(true);
  expect(final.ledger).toEqual([
    expect.objectContaining({ cell: 'dz01a', cluster: 'kc2', midStep: lost.filter((p) => p.state === 'unknown').map((p) => p.name) }),
  ]);
  expect(final.pods.filter((p) => p.cell !== 'dz01a').every((p) => p.state === 'done')).toBe(true);
});

test('a normal release does not probe: an unreachable cluster is not skipped', async () => {
  w.unreachable.add('kc2');
  const { ref } = await disasterRelease({ groups: 1 }, 'normal');
  const s = await until(w.releases, ref, 'pods of kc1 and kc3 released', (x) => x.state === 'running' && w.inFlight.size > 0);
  expect(s.mode).toBeUndefined();
  expect(s.ledger).toBeUndefined();
  w.unreachable.clear(); // the cluster answers again: the release simply goes on
  expect((await w.releases.result(ref)).state).toBe('succeeded');
});

describe('a catch-up is refused, naming the field, and starts nothing', () => {
  const refusedField = async (run: () => Promise<unknown>) => {
    const err = (await run().then(
      () => undefined,
      (e: unknown) => e,
    )) as { issues?: { field: string; message: string }[] } | undefined;
    return err?.issues?.[0];
  };

  test('of a release still running, of one that skipped nothing, with an older revision, or with unknown fields', async () => {
    w.hanging.add('kc1');
    const running = await disasterRelease({ groups: 1 });
    await until(w.releases, running.ref, 'pods in flight', () => w.inFlight.size > 0);
    expect(await refusedField(() => w.releases.catchUp(running.ref, { requestedBy: 'oncall' }))).toMatchObject({
      field: 'release',
      message: expect.stringMatching(/is running: a catch-up starts once it has ended/),
    });
    w.hanging.clear();
    expect((await w.releases.result(running.ref)).state).toBe('succeeded');
    expect(await refusedField(() => w.releases.catchUp(running.ref, { requestedBy: 'oncall' }))).toMatchObject({
      field: 'ledger',
      message: expect.stringMatching(/skipped no cell/),
    });

    w.unreachable.add('kc2');
    // 3 groups over 6 pods; the ledger's cell has 2: its catch-up fits the strategy (2 groups), else it is refused
    const skipped = await disasterRelease({ groups: 3, gate: { type: 'timed', seconds: 1 } });
    expect((await w.releases.result(skipped.ref)).state).toBe('succeeded-with-skips');
    w.unreachable.clear();
    // a new revision registered meanwhile does not forget what the skipped cell owes
    const record = await entity(skipped.app);
    await w.env.client.workflow
      .getHandle(appEntityId('acme', skipped.app))
      .executeUpdate(upsertAppUpdate, { args: [{ spec: { ...record!.spec, replicasPerCell: 3 }, by: 'bob' }] });
    expect((await entity(skipped.app))?.owed).toEqual({ dz01a: expect.objectContaining({ revision: 2, release: skipped.ref.runId }) });
    expect(await refusedField(() => w.releases.catchUp(skipped.ref, { requestedBy: 'oncall', revision: 1 }))).toMatchObject({
      field: 'revision',
      message: expect.stringMatching(/revision 2 or newer/),
    });
    expect(await refusedField(() => w.releases.catchUp(skipped.ref, { requestedBy: 'oncall', cells: ['dz00a'] }))).toMatchObject({
      field: '(root)',
    });
    expect(await refusedField(() => w.releases.catchUp(skipped.ref, {}))).toMatchObject({ field: 'requestedBy' });
    // nothing was started by the refusals: the last release of the App is still the skipped one
    const latest = await w.env.client.workflow.getHandle(skipped.ref.workflowId).describe();
    expect(latest.runId).toBe(skipped.ref.runId);
    // a proper catch-up releases exactly the ledger's cell
    const caught = await w.releases.result(await w.releases.catchUp(skipped.ref, { requestedBy: 'oncall' }));
    expect(caught.state).toBe('succeeded');
    expect([...new Set(caught.pods.map((p) => p.cell))]).toEqual(['dz01a']);
    expect(caught.groups).toHaveLength(2);
    expect((await entity(skipped.app))?.owed).toEqual({});
  });
});

test('one failed probe before a group does not skip a cluster: it takes two in a row', async () => {
  w.flakyProbes.set('kc2', 1);
  const { ref } = await disasterRelease({ groups: 1 });
  const final = await w.releases.result(ref);
  expect(final.state).toBe('succeeded');
  expect(final.ledger).toEqual([]);
  expect(w.flakyProbes.get('kc2')).toBe(0);
});

test('cluster overrides reach the pods of that cluster’s cells, under the cells’ own (cell over cluster over template)', async () => {
  const app = `overrides-${++n}`;
  await w.registerApp(app, { revisions: 2, replicas: 2, cells, clusterOverrides: { kc2: { replicas: 3, env: { LEVEL: 'cluster' } } } });
  const ref = await w.releases.startRelease({ app, tenant: 'acme', requestedBy: 'alice', strategy: { groups: 1 } });
  const final = await w.releases.result(ref);
  expect(final.state).toBe('succeeded');
  // kc2's cell has 3 pods (its cluster's replicas), the others the template's 2
  expect(final.pods.filter((p) => p.cell === 'dz01a')).toHaveLength(3);
  expect(final.pods.filter((p) => p.cell === 'dz00a')).toHaveLength(2);
  const moved = w.released.filter((r) => r.pod.startsWith(`${app}-`));
  expect(moved.filter((r) => r.pod.includes('dz01a')).map((r) => r.override)).toEqual(
    Array(3).fill({ replicas: 3, env: { LEVEL: 'cluster' } }),
  );
  expect(moved.filter((r) => !r.pod.includes('dz01a')).every((r) => r.override === undefined)).toBe(true);
});
