import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { eventually, uniqueName } from '../support/sandbox.js';
import { startReleaseHarness, waitForStatus, type ReleaseHarness } from '../support/release-harness.js';
import { appSpec } from '../support/app-spec.js';

/** Every end is an end: failed, terminated, aborted while paused — each shows as such in status and lists. */
let h: ReleaseHarness;
beforeAll(async () => {
  h = await startReleaseHarness();
});
afterAll(async () => {
  await h?.stop();
});

const ns = 'acme-prod';

test('a non-retryable failure ends the release failed: in its status, its audit trail and the list filter', async () => {
  const app = uniqueName('fails');
  // a StatefulSet of the same name that belongs to another tenant: ensuring the workload is forbidden. The
  // namespace is acme's (labelled as Barista labels it), whichever test file made it first
  const apps = h.sandbox.kubeConfig('kc1').makeApiClient(AppsV1Api);
  await h.sandbox
    .kubeConfig('kc1')
    .makeApiClient(CoreV1Api)
    .createNamespace({ body: { metadata: { name: ns, labels: { 'barista.dev/tenant': 'acme' } } } })
    .catch(() => undefined);
  await apps.createNamespacedStatefulSet({
    namespace: ns,
    body: {
      metadata: { name: `${app}-rz00a`, labels: { 'barista.dev/tenant': 'globex' } },
      spec: {
        replicas: 0,
        serviceName: `${app}-rz00a`,
        selector: { matchLabels: { squat: app } },
        template: { metadata: { labels: { squat: app } }, spec: { containers: [{ name: 'x', image: 'registry.local/x:1' }] } },
      },
    },
  });
  await h.releases.upsertApp(appSpec(app, 'registry.local/f:1', { cells: ['rz00a'], replicasPerCell: 1 }), 'alice');
  const ref = await h.releases.startRelease({ app, tenant: 'acme', requestedBy: 'alice', strategy: { groups: 1 } });
  await expect(h.releases.result(ref)).rejects.toThrow();

  const status = await h.releases.status(ref);
  expect(status.state).toBe('failed');
  expect(status.finishedAt).toBeDefined();
  const finished = status.audit.find((a) => a.action === 'finished');
  expect(finished?.detail).toMatch(/failed: .*belongs to tenant globex/);

  const listed = await eventually('the failed release in the failed list', async () => {
    const list = await h.releases.listReleases('acme', { app, state: 'failed' });
    return list.length > 0 ? list : undefined;
  });
  expect(listed[0]).toMatchObject({ runId: ref.runId, state: 'failed' });
});

test('a release terminated through Temporal shows terminated, not the state it had', async () => {
  const app = uniqueName('killed');
  await h.releases.upsertApp(appSpec(app, 'registry.local/k:1', { cells: ['rz00b'], replicasPerCell: 2 }), 'alice');
  const first = await h.releases.startRelease({ app, tenant: 'acme', requestedBy: 'alice', strategy: { groups: 1 } });
  await h.releases.result(first);
  await h.releases.upsertApp(appSpec(app, 'registry.local/k:2', { cells: ['rz00b'], replicasPerCell: 2 }), 'alice');
  const ref = await h.releases.startRelease({
    app,
    tenant: 'acme',
    requestedBy: 'alice',
    strategy: { groups: 2, gate: { type: 'manual' } },
  });
  await waitForStatus(h.releases, ref, 'waiting at the gate', (s) => s.state === 'waiting-approval');
  await h.client.workflow.getHandle(ref.workflowId, ref.runId).terminate('operator reset it');

  const status = await h.releases.status(ref);
  expect(status.state).toBe('terminated');
  expect(status.closedBy).toMatch(/terminated/);
  const listed = await eventually('the terminated release listed as such', async () => {
    const list = await h.releases.listReleases('acme', { app, state: 'terminated' });
    return list.length > 0 ? list : undefined;
  });
  expect(listed[0]).toMatchObject({ runId: ref.runId, state: 'terminated' });
  // and no longer among the releases waiting for approval
  expect(await h.releases.listReleases('acme', { app, state: 'waiting-approval' })).toEqual([]);
});

test('abort of a paused release ends it aborted, not paused, with the pod in hand handed back', async () => {
  const app = uniqueName('stuck');
  await h.releases.upsertApp(appSpec(app, 'registry.local/s:1', { cells: ['rz00a'], replicasPerCell: 2 }), 'alice');
  await h.releases.result(await h.releases.startRelease({ app, tenant: 'acme', requestedBy: 'alice', strategy: { groups: 1 } }));
  const badImage = `registry.local/s:${uniqueName('broken')}`;
  await h.sandbox.control.setImageBad(badImage);
  await h.releases.upsertApp(appSpec(app, badImage, { cells: ['rz00a'], replicasPerCell: 2 }), 'alice');
  const ref = await h.releases.startRelease({
    app,
    tenant: 'acme',
    requestedBy: 'alice',
    strategy: { groups: 1, maxConcurrentPods: 1, podTimeoutSeconds: 5 },
  });
  const paused = await waitForStatus(h.releases, ref, 'paused at the bad pod', (s) => s.state === 'paused');
  const pod = paused.paused!.pod!;
  await h.releases.abort(ref, { by: 'oncall', reason: 'give up' });
  const final = await h.releases.result(ref);
  expect(final.state).toBe('aborted');
  expect(final.paused).toBeUndefined();
  // the pod runs the bad image (it was upgraded before it failed): reported as changed, and handed back
  expect(final.changedPods).toEqual([pod]);
  expect(final.audit.map((a) => [a.action, a.detail])).toEqual(expect.arrayContaining([['handed-back', pod]]));
  const core = h.sandbox.kubeConfig('kc1').makeApiClient(CoreV1Api);
  const gate = (await core.readNamespacedPod({ name: pod, namespace: ns })).status?.conditions?.find(
    (c) => c.type === 'barista.dev/traffic-ready',
  );
  expect(gate?.reason).toBe('HandedBackByBarista');
  const listed = await eventually('listed as aborted', async () => {
    const list = await h.releases.listReleases('acme', { app, state: 'aborted' });
    return list.length > 0 ? list : undefined;
  });
  expect(listed[0]?.runId).toBe(ref.runId);
});
