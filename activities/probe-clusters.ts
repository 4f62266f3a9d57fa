import { VersionApi } from '@kubernetes/client-node';
import { withKubeSignal } from '../worker/kube/deadlines.js';
import { makeApiClient } from '../worker/kube/api-client.js';
import type { Clusters } from './clusters.js';
import type { AttemptContext } from './detached.js';
import { PROBE_INTERVAL_MS, PROBE_TIMEOUT_MS, PROBES_TO_LOSE, type ClusterProbe } from '../domain/reachability.js';

export type { ClusterProbe } from '../domain/reachability.js';

/**
 * Reachability of a disaster-mode release's clusters. A probe is one GET /version within PROBE_TIMEOUT_MS:
 * refused, reset, unroutable, hung or answering with an error, the cluster counts as unreachable. Probing only
 * reads: reachability never deletes, scales or reschedules anything.
 */
export function createClusterProbes(clusters: Clusters) {
  const versions = new Map<string, VersionApi>();
  const probe = async (cluster: string): Promise<ClusterProbe> => {
    let api = versions.get(cluster);
    if (!api) versions.set(cluster, (api = makeApiClient(clusters.get(cluster).kc, VersionApi)));
    const since = Date.now();
    try {
      await withKubeSignal(AbortSignal.timeout(PROBE_TIMEOUT_MS), () => api.getCode());
      return { cluster, reachable: true };
    } catch (err) {
      const silent = Date.now() - since >= PROBE_TIMEOUT_MS;
      const message = err instanceof Error ? err.message : String(err);
      // the client's errors name the cluster already ("cluster kc2: GET /version: …")
      const why = silent ? `not answering within ${PROBE_TIMEOUT_MS / 1000}s` : message.replace(`cluster ${cluster}: `, '');
      return { cluster, reachable: false, reason: `cluster ${cluster} unreachable: ${why}` };
    }
  };

  /** Probes each cluster once (before a group starts). */
  async function probeClusters(input: { clusters: string[] }): Promise<ClusterProbe[]> {
    return Promise.all(input.clusters.map(probe));
  }

  /**
   * Probes the clusters every PROBE_INTERVAL_MS while a group is in flight, and returns the first one that failed
   * PROBES_TO_LOSE probes in a row. Runs until then, or until the release cancels it (the group ended).
   */
  async function awaitClusterLost(input: { clusters: string[] }, ctx?: AttemptContext): Promise<ClusterProbe & { reachable: false }> {
    const failures = new Map<string, number>();
    const cancelled = ctx?.cancellationSignal;
    for (;;) {
      const probes = await probeClusters(input);
      for (const p of probes) {
        if (p.reachable) failures.delete(p.cluster);
        else if ((failures.get(p.cluster) ?? 0) + 1 >= PROBES_TO_LOSE) return p;
        else failures.set(p.cluster, (failures.get(p.cluster) ?? 0) + 1);
      }
      ctx?.heartbeat({ failing: Object.fromEntries(failures) });
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          cancelled?.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, PROBE_INTERVAL_MS);
        cancelled?.addEventListener('abort', done, { once: true });
      });
      if (cancelled?.aborted) throw cancelled.reason ?? new Error('cancelled');
    }
  }

  return { probeClusters, awaitClusterLost };
}
