import type { KubeConfig } from '@kubernetes/client-node';
import { Client } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { Logger } from 'pino';
import {
  Clusters,
  createActivities,
  createActivityMetrics,
  DetachedAttempts,
  pickClusterActivities,
  type ActivityMetrics,
} from '../activities/index.js';
import type { Topology } from '../sandbox/topology.js';
import { agentClusterOf, checkClusterIdentity, observeNodeCells, type AgentCluster } from './agent-cluster.js';
import { MAX_CONCURRENT_ACTIVITIES } from './worker.js';
import { startGateKeepersOf, type GateKeepers } from './gate-keeper.js';
import type { LeaderElectionOptions } from './kube/leader-election.js';

export interface AgentWorkerOptions {
  /** The cluster served: it must be in `topology`, with `access: agent`. */
  cluster: string;
  topology: Topology;
  /** Names the topology in refusals ("topology file deploy/topology.yaml"). */
  topologySource?: string;
  /** The cluster's credentials, and no other cluster's (worker/agent-config.ts loadAgentKubeConfig). */
  kubeconfig: KubeConfig;
  temporalAddress: string;
  namespace?: string;
  logger: Logger;
  metrics?: ActivityMetrics;
  maxConcurrentActivities?: number;
  /** Lease timings of its gate keeper (tests shorten them); several agents of one cluster elect one keeper. */
  election?: Partial<LeaderElectionOptions>;
}

export interface AgentWorker {
  worker: Worker;
  connection: NativeConnection;
  cluster: AgentCluster;
  /** The cluster's gate keeper, run while this agent holds its Lease (one agent's acts, the others stand by). */
  gateKeepers: GateKeepers;
  /** Once `worker.run()` has resolved: hands the detached waits back and ends the pod watch; closes the connection. */
  stopAfterRun(): Promise<void>;
}

/**
 * A cluster agent (issue #16): a worker beside or inside one cluster that dials out to Temporal and polls that
 * cluster's queue, `barista-cluster-<name>`, running the activities the releases send there (activities/
 * cluster-activities.ts) with the cluster's own credentials, and runs the cluster's gate keeper (elected among the
 * cluster's agents). No workflows: they stay on the central queue.
 * Before it polls, it checks that the topology knows the cluster as agent-served and that the kubeconfig's
 * API server is that cluster (agent-cluster.ts); either refusal is an AgentError naming what is wrong.
 */
export async function createAgentWorker(opts: AgentWorkerOptions): Promise<AgentWorker> {
  const cluster = agentClusterOf(opts.topology, opts.cluster, opts.topologySource);
  // named after the cluster whatever the kubeconfig calls its context: activity inputs name the cluster, and any
  // other name is refused by Clusters.get as an unknown cluster (a task that reached the wrong agent fails fast)
  const clusters = new Clusters(new Map([[cluster.name, opts.kubeconfig]]));
  try {
    checkClusterIdentity(cluster, await observeNodeCells(clusters.get(cluster.name).core));
  } catch (err) {
    await clusters.stop();
    throw err;
  }
  const connection = await NativeConnection.connect({ address: opts.temporalAddress });
  // pods that appear outside a release in this cluster get their traffic gate opened here: nobody else can reach it
  const gateKeepers = await startGateKeepersOf(
    new Map([[cluster.name, opts.kubeconfig]]),
    opts.logger.child({ component: 'gate-keeper' }),
    {
      ...opts.election,
    },
  );
  const namespace = opts.namespace ?? 'default';
  // the long waits complete their activities through a client on the agent's own connection (outbound only)
  const detached = new DetachedAttempts(new Client({ connection, namespace }).activity, opts.logger);
  const worker = await Worker.create({
    connection,
    namespace,
    taskQueue: cluster.taskQueue,
    activities: pickClusterActivities(
      createActivities({ clusters, logger: opts.logger, metrics: opts.metrics ?? createActivityMetrics(), detached }),
    ),
    maxConcurrentActivityTaskExecutions: opts.maxConcurrentActivities ?? MAX_CONCURRENT_ACTIVITIES,
  });
  return {
    worker,
    connection,
    cluster,
    gateKeepers,
    async stopAfterRun() {
      await gateKeepers.stop();
      await detached.stop();
      await clusters.stop();
      await connection.close();
    },
  };
}
