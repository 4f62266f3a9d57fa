import { existsSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { z } from 'zod';
import { dnsLabel } from '../domain/names.js';
import { describeIssues, toFieldIssues } from '../domain/validation.js';
import { AgentError } from './agent-errors.js';
import { DEFAULT_TASK_QUEUE } from './worker.js';

/** A cluster agent's settings: which cluster, where its topology and credentials are, which Temporal to dial. */
export interface AgentConfig {
  /** The one cluster it serves (`--cluster kc2` or BARISTA_AGENT_CLUSTER). */
  cluster: string;
  /** The topology file that names the cluster and its cells (BARISTA_TOPOLOGY). */
  topology: string;
  /** That cluster's kubeconfig, one context (KUBECONFIG); absent inside a pod: its ServiceAccount. */
  kubeconfig?: string;
  temporalAddress: string;
  namespace: string;
  /** The central worker's task queue (BARISTA_TASK_QUEUE): the tenants' drift Schedules start their runs there. */
  taskQueue: string;
  /**
   * Run the cluster's Service traffic component (BARISTA_AGENT_TRAFFIC `service`, the default, or `none`; or
   * `--traffic`): elected among the cluster's agents, as the gate keeper is. `none` where something else runs it.
   */
  trafficService: boolean;
}

const AgentConfigSchema = z.strictObject({
  cluster: dnsLabel,
  topology: z.string({ error: 'is required (BARISTA_TOPOLOGY: the topology file naming the cluster)' }).min(1, 'must not be empty'),
  kubeconfig: z.string().min(1, 'must not be empty').optional(),
  temporalAddress: z.string({ error: 'is required (TEMPORAL_ADDRESS: host:port of the Temporal frontend)' }).min(1, 'must not be empty'),
  namespace: z.string().min(1, 'must not be empty').default('default'),
  taskQueue: z.string().min(1, 'must not be empty').default(DEFAULT_TASK_QUEUE),
  traffic: z.enum(['service', 'none'], { error: 'must be service or none (BARISTA_AGENT_TRAFFIC or --traffic)' }).default('service'),
});

/**
 * The agent's settings from its command line (`--cluster <name>`, `--traffic service|none`) and environment
 * (BARISTA_AGENT_CLUSTER, BARISTA_TOPOLOGY, KUBECONFIG, TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, BARISTA_TASK_QUEUE,
 * BARISTA_AGENT_TRAFFIC); the command line wins. Every missing or malformed setting is named at once.
 */
export function agentConfigFrom(env: NodeJS.ProcessEnv, argv: string[]): AgentConfig {
  const flag = (name: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
  const raw = {
    cluster: argv.includes('--cluster') ? flag('--cluster') : env.BARISTA_AGENT_CLUSTER,
    topology: env.BARISTA_TOPOLOGY,
    kubeconfig: env.KUBECONFIG || undefined,
    temporalAddress: env.TEMPORAL_ADDRESS,
    namespace: env.TEMPORAL_NAMESPACE || undefined,
    taskQueue: env.BARISTA_TASK_QUEUE || undefined,
    traffic: argv.includes('--traffic') ? (flag('--traffic') ?? '') : env.BARISTA_AGENT_TRAFFIC || undefined,
  };
  if (raw.cluster === undefined)
    throw new AgentError('INVALID_CONFIG', 'the agent serves one cluster: name it with --cluster <name> or BARISTA_AGENT_CLUSTER');
  const result = AgentConfigSchema.safeParse(raw);
  if (!result.success) throw new AgentError('INVALID_CONFIG', `invalid agent settings: ${describeIssues(toFieldIssues(result.error))}`);
  const { kubeconfig, traffic, ...rest } = result.data;
  return { ...rest, trafficService: traffic === 'service', ...(kubeconfig ? { kubeconfig } : {}) };
}

/**
 * The one cluster's credentials: the kubeconfig's single context, or, without a kubeconfig, the pod's ServiceAccount.
 * A kubeconfig with several contexts is refused: an agent holds its own cluster's credentials and no other's.
 */
export function loadAgentKubeConfig(file: string | undefined, inCluster = process.env.KUBERNETES_SERVICE_HOST !== undefined): KubeConfig {
  const kc = new KubeConfig();
  if (file === undefined) {
    if (!inCluster)
      throw new AgentError(
        'INVALID_KUBECONFIG',
        "no kubeconfig: set KUBECONFIG to the cluster's kubeconfig, or run the agent in a pod of the cluster",
      );
    kc.loadFromCluster();
    return kc;
  }
  if (!existsSync(file)) throw new AgentError('INVALID_KUBECONFIG', `kubeconfig ${file} does not exist`, { file });
  try {
    kc.loadFromFile(file);
  } catch (err) {
    throw new AgentError('INVALID_KUBECONFIG', `cannot read kubeconfig ${file}: ${(err as Error).message}`, { file });
  }
  const contexts = kc.getContexts().map((c) => c.name);
  if (contexts.length !== 1)
    throw new AgentError(
      'INVALID_KUBECONFIG',
      `kubeconfig ${file} must hold one cluster's credentials, one context; it has ${contexts.length ? contexts.join(', ') : 'none'}`,
      { file, contexts },
    );
  kc.setCurrentContext(contexts[0]!);
  return kc;
}
