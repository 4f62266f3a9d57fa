import type { V1Pod } from '@kubernetes/client-node';

/**
 * Which node each pod (by uid) is on, how many pods each node has, and which pod IPs each node has given out.
 * A pod's own spec and status, as the watch or a write returned them, win over what we recorded for it.
 */
export class NodePlacement {
  private readonly nodeOf = new Map<string, string>();
  private readonly counts = new Map<string, number>();
  private readonly ipOfPod = new Map<string, { node: string; ip: string }>();
  private readonly ipsByNode = new Map<string, Map<string, string>>();

  /** Records where a pod is and its IP, from the pod itself. */
  track(pod: V1Pod): void {
    const uid = pod.metadata?.uid;
    const node = pod.spec?.nodeName;
    if (!uid || !node) return;
    this.place(uid, node);
    const ip = pod.status?.podIP;
    if (ip && this.ipOfPod.get(uid)?.ip !== ip) {
      this.releaseIP(uid);
      this.holdIP(uid, node, ip);
    }
  }

  /** We bound pod `uid` to `node` (the watch may not show it yet). */
  bind(uid: string, node: string): void {
    this.place(uid, node);
  }

  podsOn(node: string): number {
    return this.counts.get(node) ?? 0;
  }

  ipOf(uid: string): string | undefined {
    return this.ipOfPod.get(uid)?.ip;
  }

  /** Gives `ip` on `node` to pod `uid` unless another pod there has it; true when given. */
  assignIP(uid: string, node: string, ip: string): boolean {
    const holder = this.ipsByNode.get(node)?.get(ip);
    if (holder !== undefined && holder !== uid) return false;
    this.releaseIP(uid);
    this.holdIP(uid, node, ip);
    return true;
  }

  /** The pod is gone: its node slot and IP are free again. */
  forget(uid: string): void {
    const node = this.nodeOf.get(uid);
    if (node !== undefined) {
      this.nodeOf.delete(uid);
      this.counts.set(node, (this.counts.get(node) ?? 1) - 1);
    }
    this.releaseIP(uid);
  }

  private place(uid: string, node: string): void {
    const was = this.nodeOf.get(uid);
    if (was === node) return;
    if (was !== undefined) this.counts.set(was, (this.counts.get(was) ?? 1) - 1);
    this.nodeOf.set(uid, node);
    this.counts.set(node, (this.counts.get(node) ?? 0) + 1);
  }

  private holdIP(uid: string, node: string, ip: string): void {
    this.ipOfPod.set(uid, { node, ip });
    let ips = this.ipsByNode.get(node);
    if (!ips) this.ipsByNode.set(node, (ips = new Map()));
    ips.set(ip, uid);
  }

  private releaseIP(uid: string): void {
    const held = this.ipOfPod.get(uid);
    if (!held) return;
    this.ipOfPod.delete(uid);
    const ips = this.ipsByNode.get(held.node);
    if (ips?.get(held.ip) === uid) ips.delete(held.ip);
  }
}
