import type { V1EndpointSlice } from '@kubernetes/client-node';

/**
 * Which pod IPs are ready endpoints of some Service, per namespace, kept up to date slice by slice from the
 * EndpointSlice watch. A slice event tells which IPs changed, so only their pods are decided again: re-deciding
 * every pod of the namespace on every slice event, each against every slice, was quadratic in the pods (5,000 pods
 * behind 50 slices: 385 ms of CPU per slice event, and pods turning ready by the thousand make thousands of them).
 */
export class ServingEndpoints {
  /** The ready IPs each slice lists (by namespace/name), as last seen. */
  private readonly bySlice = new Map<string, { namespace: string; ips: Set<string> }>();
  /** namespace/ip → how many slices list it ready (a pod may back several Services). */
  private readonly serving = new Map<string, number>();

  /** Records the slice as seen now; returns the IPs of its namespace whose serving state changed. */
  apply(slice: V1EndpointSlice): Set<string> {
    const key = sliceKey(slice);
    const before = this.bySlice.get(key);
    const namespace = slice.metadata?.namespace ?? '';
    const ips = readyIPs(slice);
    this.bySlice.set(key, { namespace, ips });
    return this.shift(namespace, before?.ips ?? new Set(), ips);
  }

  /** Forgets a deleted slice; returns the IPs of its namespace whose serving state changed. */
  remove(slice: V1EndpointSlice): Set<string> {
    const key = sliceKey(slice);
    const before = this.bySlice.get(key);
    if (!before) return new Set();
    this.bySlice.delete(key);
    return this.shift(before.namespace, before.ips, new Set());
  }

  /** Some Service routes to `ip` in `namespace` (a ready endpoint of one of its slices). */
  serves(namespace: string, ip: string): boolean {
    return (this.serving.get(`${namespace}/${ip}`) ?? 0) > 0;
  }

  private shift(namespace: string, before: Set<string>, after: Set<string>): Set<string> {
    const changed = new Set<string>();
    for (const ip of before) if (!after.has(ip) && this.count(namespace, ip, -1) === 0) changed.add(ip);
    for (const ip of after) if (!before.has(ip) && this.count(namespace, ip, +1) === 1) changed.add(ip);
    return changed;
  }

  private count(namespace: string, ip: string, by: number): number {
    const key = `${namespace}/${ip}`;
    const n = (this.serving.get(key) ?? 0) + by;
    if (n <= 0) this.serving.delete(key);
    else this.serving.set(key, n);
    return Math.max(n, 0);
  }
}

/** Ready endpoint addresses of a slice that belongs to a Service (slices of nothing route nothing). */
function readyIPs(slice: V1EndpointSlice): Set<string> {
  const ips = new Set<string>();
  if (slice.metadata?.labels?.['kubernetes.io/service-name'] === undefined) return ips;
  for (const e of slice.endpoints ?? []) if (e.conditions?.ready === true) for (const ip of e.addresses) ips.add(ip);
  return ips;
}

function sliceKey(slice: V1EndpointSlice): string {
  return `${slice.metadata?.namespace}/${slice.metadata?.name}`;
}
