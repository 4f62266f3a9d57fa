import type { CoreV1Api } from '@kubernetes/client-node';
import { CELL_LABEL_KEY } from '../activities/cell-label.js';
import { clusterTaskQueue } from '../domain/cluster-queues.js';
import type { Topology } from '../sandbox/topology.js';
import { AgentError } from './agent-errors.js';

/** What an agent needs to know of its cluster from the topology. */
export interface AgentCluster {
  name: string;
  /** The cells the topology gives the cluster: what its API server's nodes must be labelled with. */
  cells: string[];
  /** Cells of every other cluster of the topology, by cell: a node labelled with one of them is another cluster's. */
  foreignCells: Map<string, string>;
  taskQueue: string;
}

/**
 * The cluster `name` of the topology, which the agent serves. Refuses a cluster the topology does not know
 * (a typo, a stale deployment) and one it reaches directly (no release would schedule anything on the agent's
 * queue, and the central worker would keep the credentials the agent was meant to replace).
 */
export function agentClusterOf(topology: Topology, name: string, source = 'the topology'): AgentCluster {
  const cluster = topology.clusters.find((c) => c.name === name);
  const known = topology.clusters.map((c) => c.name).join(', ');
  if (!cluster)
    throw new AgentError('UNKNOWN_CLUSTER', `cluster "${name}" is not in ${source} (known: ${known})`, { cluster: name, known });
  if (cluster.access !== 'agent')
    throw new AgentError(
      'NOT_AGENT_SERVED',
      `cluster "${name}" is reached directly in ${source} (clusters[${topology.clusters.indexOf(cluster)}].access: ${cluster.access}); ` +
        'set access: agent for it to be served by an agent',
      { cluster: name },
    );
  const foreignCells = new Map<string, string>();
  for (const other of topology.clusters) if (other.name !== name) for (const cell of other.cells) foreignCells.set(cell.name, other.name);
  return { name, cells: cluster.cells.map((c) => c.name).sort(), foreignCells, taskQueue: clusterTaskQueue(name) };
}

/**
 * Whether the API server the agent's kubeconfig reaches is `expected`, judged by the cells its nodes are labelled
 * with (`barista.dev/cell`). Why cells: a cell belongs to exactly one cluster (the topology refuses a cell in two),
 * the topology already records them, and they are Barista's own contract with a cluster (DESIGN §1). The server
 * URL is no identity (the sandbox picks a free port per start; in production a proxy or in-cluster address
 * differs from the control plane's), and the kube-system namespace's UID is stable but recorded nowhere the
 * agent could compare it with. Refused: a node of another cluster's cell (another cluster's credentials), or
 * none of this cluster's cells at all. Nodes still registering are no reason to refuse: some cells suffice.
 */
export function checkClusterIdentity(expected: AgentCluster, observedCells: string[]): void {
  const observed = [...new Set(observedCells)].sort();
  const foreign = observed.filter((cell) => expected.foreignCells.has(cell));
  if (foreign.length) {
    const owners = [...new Set(foreign.map((cell) => expected.foreignCells.get(cell)!))].sort();
    throw new AgentError(
      'WRONG_CLUSTER',
      `the kubeconfig's API server is not cluster ${expected.name}: its nodes carry cells ${foreign.join(', ')} of cluster ${owners.join(', ')}; ` +
        `give the agent ${expected.name}'s kubeconfig`,
      { cluster: expected.name, foreignCells: foreign, owners },
    );
  }
  if (!observed.some((cell) => expected.cells.includes(cell)))
    throw new AgentError(
      'WRONG_CLUSTER',
      `the kubeconfig's API server holds none of cluster ${expected.name}'s cells (${expected.cells.join(', ')}): its nodes carry ` +
        `${observed.length ? `cells ${observed.join(', ')}` : `no ${CELL_LABEL_KEY} label`}; give the agent ${expected.name}'s kubeconfig`,
      { cluster: expected.name, observedCells: observed },
    );
}

/** The cells the API server's nodes are labelled with (one list request, by label). */
export async function observeNodeCells(core: Pick<CoreV1Api, 'listNode'>): Promise<string[]> {
  const nodes = await core.listNode({ labelSelector: CELL_LABEL_KEY });
  return nodes.items.map((n) => n.metadata?.labels?.[CELL_LABEL_KEY]).filter((c): c is string => typeof c === 'string' && c.length > 0);
}
