import { z } from 'zod';
import { DomainError } from './errors.js';
import { dnsLabel } from './names.js';
import { toFieldIssues } from './validation.js';

/**
 * Cluster agents (docs/multi-cluster.md, issue #16): a cluster the control plane cannot dial is served by an
 * agent inside it that dials out to Temporal and polls a task queue of its own. The release workflows send
 * every activity that acts on that cluster to that queue; a cluster without an agent stays on the central queue.
 */

/**
 * The naming rule: cluster `kc2` is served on `barista-cluster-kc2`. Cluster names are DNS-1123 labels
 * (`dnsLabel`), so the queue name needs no escaping, and the prefix keeps the agents' queues apart from the
 * central one (`barista`) and from any test queue. The agent polls it and the workflows schedule on it: this
 * function is the only place the name is made.
 */
export const CLUSTER_QUEUE_PREFIX = 'barista-cluster-';

export function clusterTaskQueue(cluster: string): string {
  return `${CLUSTER_QUEUE_PREFIX}${cluster}`;
}

/**
 * How a cluster is reached: `direct` (the central worker holds its credentials and dials its API server) or
 * `agent` (only an agent inside the cluster does; nothing dials in). The field of a cluster in the topology.
 */
export const ClusterAccessSchema = z.enum(['direct', 'agent'], { error: 'must be "direct" or "agent"' });
export type ClusterAccess = z.infer<typeof ClusterAccessSchema>;

/**
 * How long an activity may wait on an agent's queue before a worker takes it: an agent that stopped polling
 * must not hold a release for ever (Temporal never retries a schedule-to-start timeout: the next attempt would
 * wait on the same queue). A minute is far above a polling agent's pick-up time, even with its slots busy (the
 * long waits run detached and hand their slot back, activities/detached.ts), and short enough for an operator.
 */
export const AGENT_SCHEDULE_TO_START_SECONDS = 60;

/**
 * The schedule-to-start budget of an activity on an agent's queue. With a budget of its own (a budgeted step's
 * scheduleToClose, a wait's deadline), half of it at most: the agent's "not polling" fires first and names the
 * cause, and a polling agent keeps the other half to do the work.
 */
export function agentScheduleToStartSeconds(scheduleToCloseSeconds?: number): number {
  if (scheduleToCloseSeconds === undefined) return AGENT_SCHEDULE_TO_START_SECONDS;
  return Math.max(1, Math.min(AGENT_SCHEDULE_TO_START_SECONDS, Math.floor(scheduleToCloseSeconds / 2)));
}

/**
 * Which clusters are agent-served, as a release learns it once when it starts (recorded in its history, so
 * replay sees the same routes; a cluster switched to an agent afterwards is routed so by the next release).
 */
export interface ClusterRoutes {
  agentServed: string[];
}

/** The queue of an agent-served cluster, or undefined: the cluster is reached from the central queue. */
export function agentQueueOf(routes: ClusterRoutes | undefined, cluster: string): string | undefined {
  return routes?.agentServed.includes(cluster) ? clusterTaskQueue(cluster) : undefined;
}

/** The reason a step gives when its activity waited out its schedule-to-start budget on an agent's queue. */
export function agentNotPollingReason(cluster: string, seconds: number): string {
  return `cluster ${cluster}'s agent is not polling ${clusterTaskQueue(cluster)} (no worker took the step within ${seconds}s)`;
}

const AgentClustersSchema = z
  .array(dnsLabel)
  .refine((names) => new Set(names).size === names.length, { error: 'must not name a cluster twice' });

/**
 * The agent-served clusters of the central worker's configuration (BARISTA_AGENT_CLUSTERS), a comma-separated
 * list of cluster names: `kc2,kc7`. Empty or unset: every cluster is direct.
 */
export function parseAgentClusters(raw: string | undefined, source = 'BARISTA_AGENT_CLUSTERS'): string[] {
  const names = (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  const result = AgentClustersSchema.safeParse(names);
  if (result.success) return result.data;
  const issues = toFieldIssues(result.error).map((i) => ({ ...i, field: i.field === '(root)' ? source : `${source}${i.field}` }));
  throw new DomainError('INVALID_INPUT', `invalid ${source}: ${issues.map((i) => `${i.field}: ${i.message}`).join('; ')}`, issues);
}
