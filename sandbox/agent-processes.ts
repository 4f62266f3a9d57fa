import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { ManagedProcess } from './process/managed-process.js';
import { REPO_ROOT } from './paths.js';
import { SandboxError } from './errors.js';
import type { SandboxInfo } from './sandbox.js';

/** How long an agent gets to connect, check its cluster and poll (it loads TypeScript through tsx first). */
const AGENT_START_TIMEOUT_MS = 90_000;

/**
 * The sandbox's agent-served clusters (topology `access: agent`, issue #16), each run through a cluster agent: its own
 * process (`worker/agent.ts`, as `npm run agent` runs it) with a kubeconfig holding that cluster only. The central
 * worker gets `centralKubeconfig`, which holds every other cluster and none of these: it cannot dial them. The
 * sandbox's control API stops and starts an agent (`POST /agents/<cluster>/stop|start`), the fault of an agent gone.
 */
export class AgentProcesses {
  private readonly processes = new Map<string, ManagedProcess>();

  private constructor(
    readonly clusters: string[],
    /** The central worker's kubeconfig: every cluster but the agent-served ones. */
    readonly centralKubeconfig: string,
    private readonly kubeconfigs: Map<string, string>,
    private readonly spec: { info: SandboxInfo; topologyFile: string; logDir: string },
  ) {}

  /** Writes the kubeconfigs (the central one, and one per agent); starts nothing yet. */
  static async prepare(info: SandboxInfo, clusters: string[], topologyFile: string): Promise<AgentProcesses> {
    const dir = path.join(info.runDir, 'agents');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const all = new KubeConfig();
    all.loadFromString(await readFile(info.kubeconfig, 'utf8'));
    const central = path.join(dir, 'central.kubeconfig');
    await writeFile(central, restrictedKubeConfig(all, (c) => !clusters.includes(c)).exportConfig(), { mode: 0o600 });
    const kubeconfigs = new Map<string, string>();
    for (const cluster of clusters) {
      const file = path.join(dir, `${cluster}.kubeconfig`);
      await writeFile(file, restrictedKubeConfig(all, (c) => c === cluster).exportConfig(), { mode: 0o600 });
      kubeconfigs.set(cluster, file);
    }
    return new AgentProcesses(clusters, central, kubeconfigs, { info, topologyFile, logDir: path.join(info.runDir, 'logs') });
  }

  /** Starts the agent of `cluster` and waits until it serves its queue (its log says so), or fails with the log. */
  async start(cluster: string): Promise<{ cluster: string; running: true; pid: number | undefined }> {
    const kubeconfig = this.kubeconfigs.get(cluster);
    if (!kubeconfig)
      throw new SandboxError('UNKNOWN_TARGET', `no agent-served cluster ${cluster} (agents: ${this.clusters.join(', ') || 'none'})`);
    let agent = this.processes.get(cluster);
    if (!agent) {
      const { info, topologyFile, logDir } = this.spec;
      agent = new ManagedProcess({
        name: `agent of ${cluster}`,
        command: process.execPath,
        args: ['--import', 'tsx', path.join(REPO_ROOT, 'worker', 'agent.ts'), '--cluster', cluster],
        logFile: path.join(logDir, `agent-${cluster}.log`),
        env: {
          ...process.env,
          BARISTA_TOPOLOGY: topologyFile,
          KUBECONFIG: kubeconfig,
          TEMPORAL_ADDRESS: info.temporalAddress,
          TEMPORAL_NAMESPACE: info.temporalNamespace,
          // info at least: its "agent started" line is how the sandbox knows it serves its queue
          BARISTA_LOG_LEVEL: ['debug', 'trace'].includes(process.env.BARISTA_LOG_LEVEL ?? '') ? process.env.BARISTA_LOG_LEVEL : 'info',
        },
      });
      this.processes.set(cluster, agent);
    }
    if (!agent.running) {
      const since = await logLength(agent.spec.logFile);
      agent.start();
      await agent.waitUntilReady(
        async () => (await readFile(agent.spec.logFile, 'utf8')).slice(since).includes('"agent started"'),
        AGENT_START_TIMEOUT_MS,
      );
    }
    return { cluster, running: true, pid: agent.pid };
  }

  async stop(cluster: string): Promise<{ cluster: string; running: false }> {
    if (!this.kubeconfigs.has(cluster))
      throw new SandboxError('UNKNOWN_TARGET', `no agent-served cluster ${cluster} (agents: ${this.clusters.join(', ') || 'none'})`);
    await this.processes.get(cluster)?.stop();
    return { cluster, running: false };
  }

  list(): { cluster: string; running: boolean; pid: number | undefined; log: string }[] {
    return this.clusters.map((cluster) => {
      const p = this.processes.get(cluster);
      return { cluster, running: p?.running ?? false, pid: p?.pid, log: path.join(this.spec.logDir, `agent-${cluster}.log`) };
    });
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.processes.values()].map((p) => p.stop()));
  }
}

/** The kubeconfig's contexts that `keep` accepts, with only the clusters and users they use (an agent's: one). */
export function restrictedKubeConfig(all: KubeConfig, keep: (context: string) => boolean): KubeConfig {
  const contexts = all.contexts.filter((c) => keep(c.name));
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: all.clusters.filter((c) => contexts.some((x) => x.cluster === c.name)),
    users: all.users.filter((u) => contexts.some((x) => x.user === u.name)),
    contexts,
    currentContext: contexts[0]?.name ?? '',
  });
  return kc;
}

async function logLength(file: string): Promise<number> {
  return readFile(file, 'utf8').then(
    (s) => s.length,
    () => 0,
  );
}
