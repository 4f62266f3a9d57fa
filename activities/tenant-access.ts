import { PatchStrategy, RbacAuthorizationV1Api, setHeaderOptions, type V1ClusterRole } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import { FailureTypes } from '../domain/failures.js';
import { makeApiClient } from '../worker/kube/api-client.js';
import { tenantUser, type ClusterClient, type Clusters } from './clusters.js';
import { isStatus, rethrowKubeError } from './kube-errors.js';
import { FIELD_MANAGER, LABELS } from './labels.js';

/** The ClusterRole a tenant's user is bound to, by a RoleBinding of the same name, in each of its namespaces. */
export const TENANT_ROLE = 'barista-tenant';

/** What Barista does in a tenant's namespace: its workloads, their pods and the traffic gate; nothing else. */
const TENANT_RULES: V1ClusterRole['rules'] = [
  { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch', 'patch', 'update', 'delete'] },
  { apiGroups: [''], resources: ['pods/status'], verbs: ['get', 'patch', 'update'] },
  { apiGroups: [''], resources: ['services'], verbs: ['get', 'list', 'watch', 'create', 'patch', 'update'] },
  { apiGroups: ['apps'], resources: ['statefulsets'], verbs: ['get', 'list', 'watch', 'create', 'patch', 'update', 'delete'] },
  { apiGroups: ['apps'], resources: ['statefulsets/status', 'controllerrevisions'], verbs: ['get', 'list', 'watch'] },
];

const apply = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);
/** Clusters whose ClusterRole this process has applied (once per process; the bindings are applied every time). */
const roleApplied = new Set<string>();

/**
 * Makes `namespace` a namespace of `tenant` that the tenant's user may work in, with the worker's own identity:
 * the namespace (created, labelled with the tenant, if missing), the `barista-tenant` ClusterRole, and a
 * RoleBinding of it to tenantUser(tenant) in the namespace. A namespace of another tenant, or one Barista did not
 * label, is refused (Forbidden): Barista never grants a tenant access to a namespace that is not its own. Applied
 * on every call (a few requests per cell and group), so a binding deleted by hand is put back by the next release.
 */
export async function ensureTenantAccess(
  clusters: Clusters,
  input: { cluster: string; namespace: string; tenant: string; workspace: string },
  opts: { create?: boolean } = {},
): Promise<void> {
  const { namespace, tenant } = input;
  const admin = clusters.get(input.cluster);
  const rbac = makeApiClient(admin.kc, RbacAuthorizationV1Api);
  if (!roleApplied.has(admin.name)) {
    await rbac
      .patchClusterRole(
        {
          name: TENANT_ROLE,
          fieldManager: FIELD_MANAGER,
          force: true,
          body: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: TENANT_ROLE }, rules: TENANT_RULES },
        },
        apply,
      )
      .catch((err: unknown) => rethrowKubeError(err, `applying ClusterRole ${TENANT_ROLE} in ${admin.name}`));
    roleApplied.add(admin.name);
  }
  if (!(await ensureNamespaceOf(admin, input, opts.create ?? true))) return;
  await rbac
    .patchNamespacedRoleBinding(
      {
        name: TENANT_ROLE,
        namespace,
        fieldManager: FIELD_MANAGER,
        force: true,
        body: {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'RoleBinding',
          metadata: { name: TENANT_ROLE, namespace, labels: { [LABELS.tenant]: tenant } },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: TENANT_ROLE },
          subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: tenantUser(tenant) }],
        },
      },
      apply,
    )
    .catch((err: unknown) => rethrowKubeError(err, `applying RoleBinding ${TENANT_ROLE} in ${admin.name}/${namespace}`));
  await awaitAuthorized(clusters.forTenant(input.cluster, tenant), tenant, namespace);
  ensuredAt.set(`${input.cluster}/${namespace}/${tenant}`, Date.now());
}

/** When this process last ensured a tenant's access to a namespace (cluster/namespace/tenant). */
const ensuredAt = new Map<string, number>();
/** Pod steps re-ensure a tenant's access at most this often (a binding deleted by hand is back within a minute). */
const RECENTLY_MS = 60_000;

/**
 * ensureTenantAccess for the pod steps, at most once a minute per namespace and tenant: a release in flight when
 * tenant identities were introduced gets its binding here (its workloads were ensured before), and a namespace
 * that does not exist is left alone (the pod step finds no pod).
 */
export async function ensureTenantAccessRecently(
  clusters: Clusters,
  input: { cluster: string; namespace: string; tenant: string; workspace: string },
): Promise<void> {
  if ((ensuredAt.get(`${input.cluster}/${input.namespace}/${input.tenant}`) ?? 0) > Date.now() - RECENTLY_MS) return;
  await ensureTenantAccess(clusters, input, { create: false });
}

/** How long a new RoleBinding may take to reach the API server's authorizer (it follows RBAC objects by watch). */
const AUTHORIZED_WITHIN_MS = 10_000;

/** Waits until the tenant's user may read in `namespace`: the binding just applied is in force. */
async function awaitAuthorized(asTenant: ClusterClient, tenant: string, namespace: string): Promise<void> {
  const deadline = Date.now() + AUTHORIZED_WITHIN_MS;
  for (;;) {
    try {
      await asTenant.apps.listNamespacedStatefulSet({ namespace, limit: 1 });
      return;
    } catch (err) {
      if (!isStatus(err, 403) || Date.now() >= deadline)
        return rethrowKubeError(err, `checking that ${tenantUser(tenant)} may work in ${asTenant.name}/${namespace}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/**
 * The namespace is the tenant's (true), or does not exist and `create` is false (false). Barista creates only a
 * namespace named after the tenant (`<tenant>-…`): another name would let one tenant claim a namespace another
 * tenant may need; such a namespace is made and labelled by an administrator.
 */
async function ensureNamespaceOf(
  admin: ClusterClient,
  { namespace, tenant, workspace }: { namespace: string; tenant: string; workspace: string },
  create: boolean,
): Promise<boolean> {
  const existing = await admin.core.readNamespace({ name: namespace }).catch((err: unknown) => {
    if (isStatus(err, 404)) return undefined;
    return rethrowKubeError(err, `reading namespace ${namespace}`);
  });
  if (!existing && !create) return false;
  if (!existing && !namespace.startsWith(`${tenant}-`))
    throw ApplicationFailure.nonRetryable(
      `namespace ${namespace} does not exist in ${admin.name}: Barista creates only namespaces named ${tenant}-…; ` +
        `create it and label it ${LABELS.tenant}=${tenant}`,
      FailureTypes.forbidden,
    );
  if (!existing) {
    await admin.core
      .createNamespace({
        body: { metadata: { name: namespace, labels: { [LABELS.tenant]: tenant, [LABELS.workspace]: workspace } } },
        fieldManager: FIELD_MANAGER,
      })
      .catch((e: unknown) => (isStatus(e, 409) ? undefined : rethrowKubeError(e, `creating namespace ${namespace}`)));
    // read it back: created by someone else meanwhile (409), it may be another tenant's
    return ensureNamespaceOf(admin, { namespace, tenant, workspace }, false);
  }
  const owner = existing.metadata?.labels?.[LABELS.tenant];
  if (owner === tenant) return true;
  throw ApplicationFailure.nonRetryable(
    owner
      ? `namespace ${namespace} in ${admin.name} belongs to tenant ${owner}, not ${tenant}`
      : `namespace ${namespace} in ${admin.name} has no ${LABELS.tenant} label: label it ${LABELS.tenant}=${tenant} to let Barista release tenant ${tenant}'s apps there`,
    FailureTypes.forbidden,
  );
}
