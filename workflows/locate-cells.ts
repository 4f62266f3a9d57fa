import { RetryState } from '@temporalio/common';
import { ActivityFailure, ApplicationFailure, CancellationScope, condition } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { ResolveCellsInput } from '../activities/types.js';
import { mergeCellLocations, type CellsInClusterResult } from '../domain/cell-locations.js';
import type { ClusterRoutes } from '../domain/cluster-queues.js';
import { FailureTypes } from '../domain/failures.js';

type Central = Pick<Activities, 'resolveCells' | 'cellsOfClusters'>;
export type PerCluster = (cluster: string) => Pick<Activities, 'cellsInCluster'>;

/**
 * `resolveCells` across direct and agent-served clusters (issue #16). The central worker holds no credentials of
 * an agent-served cluster, so it locates the cells of the clusters it reaches, and only the cells it did not find
 * are asked of the agents, each on its own queue (askAgents). With
 * no agent-served cluster this is exactly the one `resolveCells` of before (same command, same failures).
 */
export async function resolveCellsRouted(
  routes: ClusterRoutes | undefined,
  central: Central,
  perCluster: PerCluster,
  input: ResolveCellsInput,
): Promise<Record<string, string>> {
  const agents = routes?.agentServed ?? [];
  if (!agents.length) return central.resolveCells(input);
  const found = await central.resolveCells({ ...input, elsewhere: agents });
  const missing = input.cells.filter((c) => !found[c]);
  const { answers, silent } = missing.length ? await askAgents(agents, perCluster, input.tenant, missing) : { answers: [], silent: [] };
  const merged = mergeCellLocations(input.tenant, input.cells, found, answers, agents);
  // a cell not placed while agents were silent may be in their clusters: out of time, not unknown
  if ('refused' in merged && merged.refused.reason === 'unknownCell' && silent.length) throw silentAgents(silent);
  if ('refused' in merged) throw ApplicationFailure.nonRetryable(merged.refused.message, FailureTypes[merged.refused.reason]);
  return merged.found;
}

/**
 * `cellsOfClusters` across direct and agent-served clusters: each agent-served cluster of the placement is asked
 * by its agent, the others by the central worker, as before (exactly as before without agent-served clusters).
 */
export async function cellsOfClustersRouted(
  routes: ClusterRoutes | undefined,
  central: Central,
  perCluster: PerCluster,
  input: { tenant: string; clusters: string[] },
): Promise<Record<string, string[]>> {
  const agents = input.clusters.filter((c) => routes?.agentServed.includes(c));
  if (!agents.length) return central.cellsOfClusters(input);
  const direct = input.clusters.filter((c) => !agents.includes(c));
  const [fromCentral, answers] = await Promise.all([
    direct.length ? central.cellsOfClusters({ tenant: input.tenant, clusters: direct }) : Promise.resolve({} as Record<string, string[]>),
    Promise.all(agents.map((cluster) => perCluster(cluster).cellsInCluster({ cluster, tenant: input.tenant }))),
  ]);
  const empty = answers.filter((a) => a.mine.length === 0).map((a) => a.cluster);
  if (empty.length)
    throw ApplicationFailure.nonRetryable(`clusters ${empty.join(', ')} have no cells of tenant ${input.tenant}`, FailureTypes.forbidden);
  return { ...fromCentral, ...Object.fromEntries(answers.map((a) => [a.cluster, a.mine])) };
}

/** What the agents said: the answers, and the agents that did not answer in time (their steps' failures). */
export interface AgentAnswers {
  answers: CellsInClusterResult[];
  silent: { cluster: string; failure: ActivityFailure }[];
}

/**
 * Asks every agent-served cluster where `cells` are, all at once, and stops asking once each cell is placed: an
 * agent that does not poll holds the release only when a cell may be in its cluster. A refusal (unknown cluster,
 * forbidden) is thrown; an agent that did not take or finish its step in time is reported in `silent`.
 */
export async function askAgents(agents: string[], perCluster: PerCluster, tenant: string, cells: string[]): Promise<AgentAnswers> {
  const answers: CellsInClusterResult[] = [];
  const silent: AgentAnswers['silent'] = [];
  const placed = () => cells.every((c) => answers.some((a) => a.mine.includes(c) || a.foreign.includes(c)));
  const scope = new CancellationScope();
  const asked = scope.run(() =>
    Promise.allSettled(
      agents.map(async (cluster) => {
        try {
          answers.push(await perCluster(cluster).cellsInCluster({ cluster, tenant, cells }));
        } catch (err) {
          if (!(err instanceof ActivityFailure) || err.retryState !== RetryState.TIMEOUT) throw err;
          silent.push({ cluster, failure: err });
        }
      }),
    ),
  );
  let settled: PromiseSettledResult<void>[] | undefined;
  void asked.then((s) => (settled = s));
  await condition(() => settled !== undefined || placed());
  if (!settled) {
    scope.cancel(); // every cell is placed: the agents still being asked are not needed
    return { answers, silent: [] };
  }
  const broken = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (broken) throw broken.reason;
  return { answers, silent };
}

/** The silent agents' failures as one, out of time like each of them (the release pauses), naming every agent. */
function silentAgents(silent: AgentAnswers['silent']): ActivityFailure {
  const reason = silent.map((s) => s.failure.message).join('; ');
  const cause = ApplicationFailure.create({ message: reason, type: FailureTypes.agentNotPolling, nonRetryable: true });
  return new ActivityFailure(reason, 'cellsInCluster', undefined, RetryState.TIMEOUT, undefined, cause);
}
