import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { ClusterProbe } from '../activities/probe-clusters.js';

/** Workflow id of one reachability check, asked for by the API (which has no cluster credentials). */
export function probeClustersId(tenant: string, app: string, nonce: string): string {
  return `probe-clusters/${tenant}/${app}/${nonce}`;
}

const { probeClusters: probe } = proxyActivities<Activities>({
  startToCloseTimeout: '15s',
  retry: { initialInterval: '500ms', maximumAttempts: 2 },
});

/**
 * Whether each cluster answers now (one GET /version within 3 s each): how the API tells an operator that a
 * cluster a disaster-mode release skipped is back, and its cells owe a catch-up. Never changes anything.
 */
export async function probeClusters(input: { clusters: string[] }): Promise<ClusterProbe[]> {
  return probe(input);
}
