import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import { Clusters, createActivities } from '../../activities/index.js';
import { FailureTypes } from '../../domain/failures.js';
import { createLogger } from '../../sandbox/logger.js';
import type { Revision } from '../../domain/index.js';
import { connectSandbox, eventually, uniqueName, type TestSandbox } from '../support/sandbox.js';

/**
 * Tenant isolation enforced by the API servers, not only by Barista: the activities act in a tenant's namespaces
 * as that tenant's Kubernetes user (impersonated), which RBAC binds to the `barista-tenant` role in that tenant's
 * namespaces only. Here the activities are called directly, past every check of the API and the workflow, and
 * asked to touch tenant initech's pods for tenant acme: the API server answers 403 and nothing changes.
 */
let sandbox: TestSandbox;
let clusters: Clusters;
let activities: ReturnType<typeof createActivities>;
const CLUSTER = 'kc6';
const ns = 'initech-prod';
const revision = (n: number): Revision => ({
  number: n,
  template: { containers: [{ name: 'app', image: `registry.local/victim:${n}` }] },
  replicasPerCell: 1,
  overrides: {},
  createdAt: new Date().toISOString(),
  createdBy: 'test',
});

beforeAll(async () => {
  sandbox = await connectSandbox();
  clusters = new Clusters(sandbox.info.kubeconfig);
  activities = createActivities({ clusters, logger: createLogger('isolation', 'warn') });
});
afterAll(async () => {
  await clusters?.stop();
});

const refused = async (run: () => Promise<unknown>): Promise<ApplicationFailure> => {
  const err = await run().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
};

test("another tenant's pods and workloads: Barista refuses, and past its checks the API server answers 403; nothing changes", async () => {
  const app = uniqueName('victim');
  const ref = { cluster: CLUSTER, namespace: ns, app, tenant: 'initech', workspace: 'prod', cell: 'rz05b' };
  await activities.ensureWorkload({ ...ref, revision: revision(1) });
  const pod = `${app}-rz05b-0`;
  const admin = sandbox.kubeConfig(CLUSTER).makeApiClient(CoreV1Api);
  await eventually('the victim pod running', async () => {
    const p = await admin.readNamespacedPod({ name: pod, namespace: ns }).catch(() => undefined);
    return p?.status?.containerStatuses?.[0]?.ready ? p : undefined;
  });
  const before = await admin.readNamespacedPod({ name: pod, namespace: ns });

  // past Barista's own checks: a pod step for tenant acme on initech's pod
  const step = await refused(() =>
    activities.ensurePodReleased({
      ...ref,
      tenant: 'acme',
      pod,
      traffic: [],
      revision: revision(2),
      mode: 'in-place',
      podTimeoutSeconds: 30,
    }),
  );
  expect(step.type).toBe(FailureTypes.forbidden);
  expect(step.message).toMatch(/namespace initech-prod in kc6 belongs to tenant initech, not acme/);

  // past that check: the tenant's client itself, as every pod step and workload write uses it, asked to read,
  // patch or delete initech's pod or workload: 403 from the API server
  const asAcme = clusters.forTenant(CLUSTER, 'acme');
  const denied = await asAcme.core.readNamespacedPod({ name: pod, namespace: ns }).then(
    () => undefined,
    (e: unknown) => e as { code?: number; body?: unknown },
  );
  expect(denied?.code).toBe(403);
  expect(JSON.stringify(denied?.body)).toMatch(/barista:tenant:acme.*cannot get resource.*pods.*initech-prod/);
  await expect(
    asAcme.core.patchNamespacedPod({ name: pod, namespace: ns, body: [{ op: 'add', path: '/metadata/labels/x', value: 'y' }] }),
  ).rejects.toMatchObject({ code: 403 });
  await expect(asAcme.apps.deleteNamespacedStatefulSet({ name: `${app}-rz05b`, namespace: ns })).rejects.toMatchObject({ code: 403 });
  await expect(asAcme.core.deleteNamespacedPod({ name: pod, namespace: ns })).rejects.toMatchObject({ code: 403 });
  // Barista's own check refuses a workload in another tenant's namespace before any request as the tenant
  const workload = await refused(() => activities.ensureWorkload({ ...ref, tenant: 'acme', revision: revision(2) }));
  expect(workload.type).toBe(FailureTypes.forbidden);
  expect(workload.message).toMatch(/namespace initech-prod in kc6 belongs to tenant initech, not acme/);

  // nothing changed: same pod, image, restarts; the workload is still there at revision 1
  const after = await admin.readNamespacedPod({ name: pod, namespace: ns });
  expect([after.metadata?.uid, after.spec?.containers[0]?.image, after.status?.containerStatuses?.[0]?.restartCount]).toEqual([
    before.metadata?.uid,
    'registry.local/victim:1',
    before.status?.containerStatuses?.[0]?.restartCount,
  ]);
  const sts = await sandbox
    .kubeConfig(CLUSTER)
    .makeApiClient(AppsV1Api)
    .readNamespacedStatefulSet({ name: `${app}-rz05b`, namespace: ns });
  expect(sts.spec?.template.spec?.containers[0]?.image).toBe('registry.local/victim:1');

  // and the rightful tenant's user may read its own pod
  expect((await clusters.forTenant(CLUSTER, 'initech').core.readNamespacedPod({ name: pod, namespace: ns })).metadata?.uid).toBe(
    before.metadata?.uid,
  );
});
