import { ensureTenantAccessRecently } from './tenant-access.js';
import type { Clusters } from './clusters.js';
import { hasLegacyDrainMark, isDrainMarked } from './pod-state.js';
import { readPod } from './pod-watch.js';
import { ensureTrafficGateHandedBack, removeLegacyDrainMark } from './traffic-gate.js';
import type { WorkloadRef } from './types.js';

/**
 * Hands a pod the release gave up on (skip-pod) back to the gate keeper: lifts the release's drain mark,
 * so its gate opens as soon as its containers are ready and its traffic components mount it again.
 */
export function createEnsurePodHandedBack(clusters: Clusters) {
  return async function ensurePodHandedBack(
    input: Pick<WorkloadRef, 'cluster' | 'namespace'> & { pod: string; tenant?: string },
  ): Promise<{ unmarked: boolean }> {
    // as the tenant's user; releases started before tenant identities name no tenant
    const tenant = input.tenant;
    if (tenant) await ensureTenantAccessRecently(clusters, { ...input, tenant, workspace: '' });
    const client = tenant ? clusters.forTenant(input.cluster, tenant) : clusters.get(input.cluster);
    // a pod already gone needs nothing (a retry after a 404 lands here)
    const pod = await readPod(client, input.namespace, input.pod);
    if (!pod || !isDrainMarked(pod)) return { unmarked: false };
    const handedBack = await ensureTrafficGateHandedBack(client, pod);
    if (hasLegacyDrainMark(handedBack)) await removeLegacyDrainMark(client, handedBack);
    return { unmarked: true };
  };
}
