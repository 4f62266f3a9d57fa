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
import { startServiceTrafficOf, type ElectedComponents } from './traffic/elected-service.js';
import { ensureDriftSchedules, type DriftSchedulesResult } from './drift-schedules.js';

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
  /**
   * Run the cluster's Service traffic component, elected among its agents like the gate keeper. Off where
   * something else serves the cluster's Services (the sandbox's own component, `npm run traffic:service`).
   */
  trafficService?: boolean;
  /**
   * Ensure the drift Schedule of every tenant of this cluster (its nodes' `barista.dev/tenant` label), starting
   * runs on the central worker's task queue: the central worker cannot list an agent-served cluster's nodes.
   * `env`: BARISTA_DRIFT_TENANTS, BARISTA_DRIFT_INTERVAL_SECONDS (worker/drift-schedules.ts).
   */
  driftSchedules?: { taskQueue: string; env?: Record<string, string | undefined> };
}

export interface AgentWorker {
  worker: Worker;
  connection: NativeConnection;
  cluster: AgentCluster;
  /** The cluster's gate keeper, run while this agent holds its Lease (one agent's acts, the others stand by). */
  gateKeepers: GateKeepers;
  /** The cluster's Service traffic component, likewise elected (when `trafficService`). */
  trafficComponents?: ElectedComponents;
  /** The drift Schedules ensured for the cluster's tenants (when `driftSchedules`); never rejects. */
  driftSchedules?: Promise<DriftSchedulesResult>;
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
  const own = new Map([[cluster.name, opts.kubeconfig]]);
  const gateKeepers = await startGateKeepersOf(own, opts.logger.child({ component: 'gate-keeper' }), opts.election);
  // the cluster's Services are routed to by its own component: nobody outside may reach the cluster to run it
  const trafficComponents = opts.trafficService
    ? await startServiceTrafficOf(own, opts.logger.child({ component: 'traffic-service' }), opts.election)
    : undefined;
  const namespace = opts.namespace ?? 'default';
  const client = new Client({ connection, namespace });
  const driftSchedules = opts.driftSchedules
    ? ensureDriftSchedules({
        client,
        taskQueue: opts.driftSchedules.taskQueue,
        clusters,
        logger: opts.logger,
        ...(opts.driftSchedules.env ? { env: opts.driftSchedules.env } : {}),
      })
    : undefined;
  // the long waits complete their activities through a client on the agent's own connection (outbound only)
  const metrics = opts.metrics ?? createActivityMetrics();
  const detached = new DetachedAttempts(client.activity, opts.logger, metrics.detachedHeartbeats);
  const worker = await Worker.create({
    connection,
    namespace,
    taskQueue: cluster.taskQueue,
    activities: pickClusterActivities(createActivities({ clusters, logger: opts.logger, metrics, detached })),
    maxConcurrentActivityTaskExecutions: opts.maxConcurrentActivities ?? MAX_CONCURRENT_ACTIVITIES,
  });
  return {
    worker,
    connection,
    cluster,
    gateKeepers,
    ...(trafficComponents ? { trafficComponents } : {}),
    ...(driftSchedules ? { driftSchedules } : {}),
    async stopAfterRun() {
      await driftSchedules;
      await trafficComponents?.stop();
      await gateKeepers.stop();
      await detached.stop();
      await clusters.stop();
      await connection.close();
    },
  };
}
