import type { V1Pod } from '@kubernetes/client-node';
import { DomainError } from '../../domain/index.js';
import { eventually, uniqueName } from '../support/sandbox.js';
import {
  appPods,
  gateOf,
  imageOf,
  restartsOf,
  startReleaseHarness,
  statefulSetExists,
  waitForStatus,
  type ReleaseHarness,
} from '../support/release-harness.js';
import { appSpec } from '../support/app-spec.js';

let h: ReleaseHarness;
beforeAll(async () => {
  h = await startReleaseHarness();
});
afterAll(async () => {
  await h?.stop();
});

const spec = (name: string, image: string) => appSpec(name, image, { cells: ['rz00a', 'rz00b'], replicasPerCell: 5 });

test('2 cells × 5 pods in 3 manual-gated groups: even groups, approvals recorded, every pod upgraded in place exactly once; then a rollback release', async () => {
  const app = uniqueName('pay');
  const ns = 'acme-prod';
  const { revision: r1 } = await h.releases.upsertApp(spec(app, 'registry.local/pay:1.0'), 'alice');
  const first = await h.releases.startRelease({ app, tenant: 'acme', revision: r1, requestedBy: 'alice', strategy: { groups: 1 } });
  const done1 = await h.releases.result(first);
  expect(done1.state).toBe('succeeded');
  const before = await appPods(h.sandbox, 'kc1', ns, app);
  expect(before).toHaveLength(10);
  expect(before.every((p) => gateOf(p) === 'True' && imageOf(p) === 'registry.local/pay:1.0')).toBe(true);

  const { revision: r2 } = await h.releases.upsertApp(spec(app, 'registry.local/pay:2.0'), 'alice');
  expect(r2).toBe(r1 + 1);
  const ref = await h.releases.startRelease({
    app,
    tenant: 'acme',
    requestedBy: 'alice',
    strategy: { groups: 3, gate: { type: 'manual' } },
  });

  const atGate0 = await waitForStatus(
    h.releases,
    ref,
    'waiting for approval of group 0',
    (s) => s.state === 'waiting-approval' && s.currentGroup === 0,
  );
  const perCell = (pods: string[]) => ['rz00a', 'rz00b'].map((cell) => pods.filter((p) => p.includes(`-${cell}-`)).length);
  expect(atGate0.groups.map((g) => perCell(g.pods))).toEqual([
    [1, 1],
    [2, 2],
    [2, 2],
  ]);
  const group0 = new Set(atGate0.groups[0]!.pods);
  const mid = await appPods(h.sandbox, 'kc1', ns, app);
  expect(
    mid
      .filter((p) => imageOf(p) === 'registry.local/pay:2.0')
      .map((p) => p.metadata!.name)
      .sort(),
  ).toEqual([...group0].sort());

  // one release per app: a second start is refused with the running one's id, and nothing new starts
  await expect(h.releases.startRelease({ app, tenant: 'acme', requestedBy: 'bob' })).rejects.toMatchObject({
    code: 'CONFLICT',
    message: expect.stringContaining(ref.workflowId),
  });

  await h.releases.approve(ref, { by: 'carol', reason: 'canary looks fine' });
  await waitForStatus(h.releases, ref, 'waiting for approval of group 1', (s) => s.state === 'waiting-approval' && s.currentGroup === 1);
  await h.releases.approve(ref, { by: 'dave' });
  const final = await h.releases.result(ref);
  expect(final.state).toBe('succeeded');
  expect(final.gates.map((g) => [g.group, g.state, g.decidedBy])).toEqual([
    [0, 'passed', 'carol'],
    [1, 'passed', 'dave'],
  ]);
  expect(final.audit.filter((a) => a.action === 'approved').map((a) => a.by)).toEqual(['carol', 'dave']);
  expect(final.pods.every((p) => p.state === 'done' && p.revision === r2)).toBe(true);

  const after = await appPods(h.sandbox, 'kc1', ns, app);
  const byName = (pods: V1Pod[]) => new Map(pods.map((p) => [p.metadata!.name!, p]));
  const old = byName(before);
  for (const pod of after) {
    const was = old.get(pod.metadata!.name!)!;
    expect(imageOf(pod)).toBe('registry.local/pay:2.0');
    expect(pod.metadata?.uid).toBe(was.metadata?.uid);
    expect(pod.status?.podIP).toBe(was.status?.podIP);
    expect(restartsOf(pod)).toBe(restartsOf(was) + 1);
    expect(gateOf(pod)).toBe('True');
  }

  // the state is mirrored into a search attribute: the Temporal UI and list queries find releases by it
  await eventually('the release listed as succeeded', async () => {
    for await (const wf of h.client.workflow.list({ query: `BaristaApp = '${app}' AND BaristaState = 'succeeded'` }))
      if (wf.runId === ref.runId) return wf;
    return undefined;
  });

  // rollback release: back to revision 1 through the same per-pod steps, in place
  const back = await h.releases.startRelease({
    app,
    tenant: 'acme',
    revision: r1,
    requestedBy: 'alice',
    reason: 'roll back',
    strategy: { groups: 2, gate: { type: 'timed', seconds: 1 } },
  });
  const rolled = await h.releases.result(back);
  expect(rolled.state).toBe('succeeded');
  const restored = await appPods(h.sandbox, 'kc1', ns, app);
  for (const pod of restored) {
    const was = old.get(pod.metadata!.name!)!;
    expect(imageOf(pod)).toBe('registry.local/pay:1.0');
    expect(pod.status?.podIP).toBe(was.status?.podIP);
    expect(restartsOf(pod)).toBe(restartsOf(was) + 2);
  }
});

test('bad input is refused with the field named and nothing started', async () => {
  const app = uniqueName('bad');
  const refused = async (input: unknown) => {
    try {
      await h.releases.startRelease(input);
    } catch (err) {
      expect(err).toBeInstanceOf(DomainError);
      return err as DomainError;
    }
    throw new Error('expected a refusal');
  };
  await expect(h.releases.upsertApp({ ...spec(app, 'registry.local/x:1'), placement: { cells: [] } }, 'alice')).rejects.toMatchObject({
    code: 'INVALID_INPUT',
    issues: [expect.objectContaining({ field: 'placement', message: 'placement must name at least one cell or cluster' })],
  });
  await expect(h.releases.upsertApp(spec(app, 'not an image!'), 'alice')).rejects.toMatchObject({
    issues: [expect.objectContaining({ field: 'template.containers[0].image' })],
  });
  expect((await refused({ app, tenant: 'acme', requestedBy: 'x' })).code).toBe('NOT_FOUND');
  await h.releases.upsertApp({ ...spec(app, 'registry.local/x:1'), replicasPerCell: 1 }, 'alice');
  const groups = await refused({ app, tenant: 'acme', requestedBy: 'x', strategy: { groups: 5 } });
  expect(groups.issues[0]).toMatchObject({ field: 'strategy.groups', message: expect.stringContaining('5 groups for 2 pods') });
  expect((await refused({ app, tenant: 'acme', requestedBy: 'x', strategy: { groupSizes: [-1] } })).issues[0]?.field).toMatch(
    /^strategy\.groupSizes\[0\]/,
  );
  expect((await refused({ app, tenant: 'acme', requestedBy: 'x', strategy: { groups: 'two' } })).issues[0]?.field).toBe('strategy.groups');
  expect((await refused({ app, tenant: 'acme', requestedBy: 'x', revision: 7 })).issues[0]).toMatchObject({
    field: 'revision',
    message: expect.stringContaining('does not exist'),
  });
  expect((await refused({ app, tenant: 'acme', requestedBy: 'x', mask: ['rz99z'] })).issues[0]?.field).toBe('mask.cells');
  // nothing was started for this app, and nothing was created in any cluster
  await expect(h.client.workflow.getHandle(`release/acme/${app}`).describe()).rejects.toMatchObject({ name: 'WorkflowNotFoundError' });
  for (const cell of ['rz00a', 'rz00b']) expect(await statefulSetExists(h.sandbox, 'kc1', 'acme-prod', `${app}-${cell}`)).toBe(false);
});
