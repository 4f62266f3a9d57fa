import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { ControlPlane, type ClusterEndpoint } from './control-plane.js';
import { SandboxError } from './errors.js';
import type { AgentProcesses } from './agent-processes.js';
import { Etcd } from './etcd.js';
import { writeKubeconfig } from './kubeconfig.js';
import { Faults } from './kubelet/faults.js';
import { SimulatedKubelet } from './kubelet/kubelet.js';
import { createLogger } from './logger.js';
import { cacheDir } from './paths.js';
import { choosePort, freePort } from './process/ports.js';
import { type Progress, silentProgress } from './progress.js';
import { DEFAULT_TOPOLOGY, parseTopology, type Topology, type TopologyInput } from './topology.js';
import { TemporalServer } from './temporal-server.js';
import { PostgresServer } from './postgres.js';
import { PrometheusServer } from './prometheus.js';
import { DEFAULT_REQUESTS_PER_SECOND_PER_POD, RequestMetrics } from './traffic/request-metrics.js';
import type { RevisionFault, RevisionFaultInput, RevisionFaultTarget } from './traffic/request-model.js';
import { ServiceTrafficComponent } from '../worker/traffic/service/index.js';
import type { TrafficComponent } from '../worker/traffic/component.js';
import type { RegistryTrafficComponent } from './traffic/registry-component.js';
import { createDnsComponent } from './traffic/dns/index.js';
import { createRpcComponent } from './traffic/rpc/index.js';

export interface SandboxOptions {
  /** Clusters, cells, tenants; validated. Default: 2 clusters × 2 cells. */
  topology?: TopologyInput;
  /** Where state, logs and the kubeconfig go. Default: a fresh directory under the cache, removed on stop. */
  runDir?: string;
  /** Keep Temporal's store and etcd's data in runDir across restarts (what `npm start` uses). */
  persistent?: boolean;
  temporalPort?: number;
  /** Serve the Temporal Web UI on this port (otherwise headless). */
  temporalUiPort?: number;
  temporalNamespace?: string;
  progress?: Progress;
  logger?: Logger;
  /**
   * Simulated requests that Prometheus scrapes: each serving, routed pod labelled `barista.dev/app` receives
   * `requestsPerSecondPerPod` per second (default 20). 0 simulates nothing (benches with thousands of pods);
   * Prometheus runs all the same.
   */
  requestMetrics?: { requestsPerSecondPerPod: number };
}

/** Everything a client of the sandbox needs, as written to `<runDir>/sandbox.json`. */
export interface SandboxInfo {
  runDir: string;
  temporalAddress: string;
  temporalNamespace: string;
  temporalUiUrl?: string;
  kubeconfig: string;
  /** postgres://… of the audit store's database (with its password: a file in the run directory, never logged). */
  auditDatabaseUrl?: string;
  clusters: { name: string; server: string; tenant: string; workspace: string; cells: string[] }[];
  controlUrl?: string;
  /** http://127.0.0.1:<port> of the sandbox's Prometheus (HTTP API only, no web UI); scrapes the simulated request metrics every second. */
  prometheusUrl?: string;
}

/**
 * The local substrate: a real Temporal dev server, one etcd, and per cluster a real kube-apiserver and
 * kube-controller-manager with a simulated kubelet for its cells. One API for tests, `npm start` and benches.
 */
export class Sandbox {
  readonly faults = new Faults();
  /** The agents of agent-served clusters, when `npm start` runs some (sandbox/agent-processes.ts). */
  agents: AgentProcesses | undefined;
  private readonly planes = new Map<string, ControlPlane>();
  private readonly kubelets = new Map<string, SimulatedKubelet>();
  /** Traffic components per cluster: the real Service one, simulated RPC registry and DNS. */
  private readonly traffic = new Map<string, TrafficComponent[]>();
  private etcd: Etcd | undefined;
  private temporal: TemporalServer | undefined;
  private postgres: PostgresServer | undefined;
  private requestMetrics: RequestMetrics | undefined;
  private prometheus: PrometheusServer | undefined;
  private ownsRunDir = false;
  controlUrl: string | undefined;

  private constructor(
    readonly topology: Topology,
    readonly runDir: string,
    private readonly opts: SandboxOptions,
    private readonly logger: Logger,
  ) {}

  /** Starts everything; if any part fails, stops what was started and rethrows. */
  static async start(opts: SandboxOptions = {}): Promise<Sandbox> {
    const topology = parseTopology(opts.topology ?? DEFAULT_TOPOLOGY);
    const runDir = opts.runDir ?? (await mkdtemp(path.join(await ensureDir(path.join(cacheDir(), 'run')), 'sandbox-')));
    const sandbox = new Sandbox(topology, runDir, opts, opts.logger ?? createLogger('sandbox'));
    sandbox.ownsRunDir = opts.runDir === undefined;
    try {
      await sandbox.boot(opts.progress ?? silentProgress);
      return sandbox;
    } catch (err) {
      await sandbox.stop();
      throw err;
    }
  }

  get temporalAddress(): string {
    return this.temporal!.address;
  }

  get kubeconfigPath(): string {
    return path.join(this.runDir, 'kubeconfig');
  }

  get clusterNames(): string[] {
    return this.topology.clusters.map((c) => c.name);
  }

  /** A KubeConfig for one cluster (its context selected). */
  kubeConfig(cluster: string): KubeConfig {
    this.plane(cluster);
    const kc = new KubeConfig();
    kc.loadFromFile(this.kubeconfigPath);
    kc.setCurrentContext(cluster);
    return kc;
  }

  info(): SandboxInfo {
    return {
      runDir: this.runDir,
      temporalAddress: this.temporalAddress,
      temporalNamespace: this.opts.temporalNamespace ?? 'default',
      ...(this.opts.temporalUiPort ? { temporalUiUrl: `http://127.0.0.1:${this.opts.temporalUiPort}` } : {}),
      kubeconfig: this.kubeconfigPath,
      ...(this.postgres ? { auditDatabaseUrl: this.postgres.url } : {}),
      clusters: this.topology.clusters.map((c) => ({
        name: c.name,
        server: this.plane(c.name).server,
        tenant: c.tenant,
        workspace: c.workspace,
        cells: c.cells.map((cell) => cell.name),
      })),
      ...(this.controlUrl ? { controlUrl: this.controlUrl } : {}),
      ...(this.prometheus ? { prometheusUrl: this.prometheus.url } : {}),
    };
  }

  /** Stops a cluster's API server and controller manager: the cluster becomes unreachable. */
  async stopCluster(name: string): Promise<void> {
    await this.plane(name).stop();
  }

  /** Starts a stopped cluster again on the same address with the same credentials and data. */
  async startCluster(name: string): Promise<void> {
    await this.plane(name).start();
    this.kubelets.get(name)?.resync();
  }

  clusterRunning(name: string): boolean {
    return this.plane(name).running;
  }

  /** Freezes a cluster's API server (SIGSTOP): connections stay open, nothing is answered — a hung cluster. */
  freezeCluster(name: string): void {
    this.plane(name).freeze();
  }

  /** Lets a frozen API server go on (SIGCONT), with whatever it received meanwhile. */
  thawCluster(name: string): void {
    this.plane(name).thaw();
  }

  clusterFrozen(name: string): boolean {
    return this.plane(name).isFrozen;
  }

  /** Stops the audit store's PostgreSQL, keeping its data: connections are closed, new ones refused. */
  async stopAuditDatabase(): Promise<void> {
    await this.auditDatabase().halt();
  }

  /** Starts the audit store's PostgreSQL again, on the same address with the same password and data. */
  async startAuditDatabase(): Promise<void> {
    await this.auditDatabase().start();
  }

  private auditDatabase(): PostgresServer {
    if (!this.postgres) throw new SandboxError('UNKNOWN_TARGET', 'this sandbox runs no PostgreSQL (audit store)', {});
    return this.postgres;
  }

  /** Stops Prometheus, keeping its data: its address refuses connections until `startPrometheus()`. */
  async stopPrometheus(): Promise<void> {
    await this.prometheusServer().halt();
  }

  /** Starts Prometheus again on the same address with the same data. */
  async startPrometheus(): Promise<void> {
    await this.prometheusServer().start();
  }

  prometheusRunning(): boolean {
    return this.prometheusServer().running;
  }

  private prometheusServer(): PrometheusServer {
    if (!this.prometheus) throw new SandboxError('UNKNOWN_TARGET', 'this sandbox runs no Prometheus', {});
    return this.prometheus;
  }

  /**
   * Makes the pods of `app` at `revision` (in `namespace`, or in every namespace without one) answer `errorPercent` %
   * more errors and `latencyMs` more latency in the simulated request metrics. Replaces a fault set for the same target.
   */
  setRevisionFault(fault: RevisionFaultInput): RevisionFault {
    return this.requestSimulator().faults.set(fault);
  }

  /** Removes the fault set for exactly this target (an unknown one is an UNKNOWN_TARGET error). */
  clearRevisionFault(target: RevisionFaultTarget): RevisionFault {
    return this.requestSimulator().faults.clear(target);
  }

  revisionFaults(): RevisionFault[] {
    return this.requestMetrics?.faults.list() ?? [];
  }

  private requestSimulator(): RequestMetrics {
    if (!this.requestMetrics) throw new SandboxError('UNKNOWN_TARGET', 'this sandbox simulates no request metrics', {});
    return this.requestMetrics;
  }

  setImageBad(image: string, bad = true): void {
    this.faults.setImageBad(image, bad);
  }

  setNodeUp(node: string, up: boolean): void {
    if (![...this.kubelets.values()].some((k) => k.nodes.some((n) => n.name === node)))
      throw new SandboxError('UNKNOWN_TARGET', `unknown node "${node}"; nodes are named <cell>-n<i>`, { node });
    this.faults.setNodeUp(node, up);
  }

  setStartLatency(cluster: string, ms: number): void {
    this.plane(cluster);
    this.kubelets.get(cluster)?.setStartLatency(ms);
  }

  /** Prometheus metrics of one cluster's API server. */
  apiServerMetrics(cluster: string): Promise<string> {
    return this.plane(cluster).metrics();
  }

  /** Pid of the Temporal server's watchdog, leader of its process group (benches sum the group's CPU). */
  temporalPid(): number | undefined {
    return this.temporal?.process.pid;
  }

  /** Pids of every process the sandbox runs (for benches measuring memory). */
  pids(): number[] {
    const procs = [
      this.etcd?.process,
      this.temporal?.process,
      this.prometheus?.process,
      ...[...this.planes.values()].flatMap((p) => [p.apiServer, p.controllerManager]),
    ];
    return procs.map((p) => p?.pid).filter((pid): pid is number => pid !== undefined);
  }

  /** Sets how long a simulated registry (rpc, dns) keeps routing to a pod after it stops being Ready. */
  setDeregistrationDelay(component: string, ms: number): void {
    const registries = [...this.traffic.values()]
      .flat()
      .filter((c): c is RegistryTrafficComponent => c.name === component && 'setDeregistrationDelay' in c);
    if (registries.length === 0)
      throw new SandboxError('UNKNOWN_TARGET', `no simulated traffic component "${component}"; simulated: rpc, dns`, { component });
    for (const c of registries) c.setDeregistrationDelay(ms);
  }

  /** Stops everything, in reverse order; safe to call twice and after a failed start. */
  async stop(): Promise<void> {
    await this.prometheus?.stop();
    await this.requestMetrics?.stop();
    await Promise.all([...this.traffic.values()].flat().map((c) => c.stop().catch(() => undefined)));
    this.traffic.clear();
    await Promise.all([...this.kubelets.values()].map((k) => k.stop().catch(() => undefined)));
    this.kubelets.clear();
    await Promise.all([...this.planes.values()].map((p) => p.stop()));
    await Promise.all([this.etcd?.stop(), this.temporal?.stop(), this.postgres?.stop()]);
    if (this.ownsRunDir && !this.opts.persistent) await rm(this.runDir, { recursive: true, force: true });
  }

  private plane(name: string): ControlPlane {
    const plane = this.planes.get(name);
    if (!plane)
      throw new SandboxError('UNKNOWN_TARGET', `unknown cluster "${name}"; clusters: ${this.clusterNames.join(', ')}`, { cluster: name });
    return plane;
  }

  private async boot(progress: Progress): Promise<void> {
    const logDir = await ensureDir(path.join(this.runDir, 'logs'));
    const persistent = this.opts.persistent ?? false;
    const dataDir = persistent ? path.join(this.runDir, 'data') : path.join(this.runDir, 'tmp-data');
    if (!persistent) await rm(dataDir, { recursive: true, force: true });
    await ensureDir(dataDir);
    const temporalPort = await choosePort(this.opts.temporalPort, 'the Temporal server');
    if (this.opts.temporalUiPort !== undefined) await choosePort(this.opts.temporalUiPort, 'the Temporal Web UI');
    this.temporal = new TemporalServer({
      port: temporalPort,
      httpPort: await freePort(),
      metricsPort: await freePort(),
      ...(this.opts.temporalUiPort !== undefined ? { uiPort: this.opts.temporalUiPort } : {}),
      logDir,
      ...(persistent ? { dbFile: path.join(dataDir, 'temporal.sqlite') } : {}),
      namespace: this.opts.temporalNamespace ?? 'default',
    });
    // Temporal binds internal ports of its own choosing: let it settle before handing out the others
    await progress.step(`starting Temporal dev server on 127.0.0.1:${temporalPort}`, () => this.temporal!.start());
    this.postgres = new PostgresServer({ runDir: this.runDir, port: await freePort(), logDir, persistent });
    await progress.step('starting PostgreSQL (the audit store)', () => this.postgres!.start());
    this.etcd = new Etcd({ dataDir: path.join(dataDir, 'etcd'), logDir, clientPort: await freePort(), peerPort: await freePort() });
    await progress.step('starting etcd', () => this.etcd!.start());
    for (const cluster of this.topology.clusters) {
      const port = await choosePort(cluster.apiServerPort, `the API server of cluster ${cluster.name}`);
      const dir = await ensureDir(path.join(this.runDir, 'clusters', cluster.name));
      this.planes.set(cluster.name, new ControlPlane({ name: cluster.name, dir, etcdUrl: this.etcd.url, port }));
    }
    const endpoints: ClusterEndpoint[] = await Promise.all(
      this.topology.clusters.map((c) => progress.step(`starting control plane of cluster ${c.name}`, () => this.plane(c.name).start())),
    );
    await writeKubeconfig(this.kubeconfigPath, endpoints);
    await progress.step('registering simulated nodes and kubelets', async () => {
      await Promise.all(
        this.topology.clusters.map(async (cluster, index) => {
          const kubelet = new SimulatedKubelet({
            cluster,
            clusterIndex: index,
            kubeConfig: this.kubeConfig(cluster.name),
            faults: this.faults,
            logger: this.logger.child({ cluster: cluster.name }),
          });
          this.kubelets.set(cluster.name, kubelet);
          await kubelet.start();
        }),
      );
    });
    await progress.step('starting traffic components (service, rpc, dns)', async () => {
      await Promise.all(
        this.topology.clusters.map(async (cluster) => {
          const kc = this.kubeConfig(cluster.name);
          const log = this.logger.child({ cluster: cluster.name });
          // an agent-served cluster's Service component is Barista's, run by its agent (worker/agent-worker.ts);
          // rpc and dns stand for the cluster's own infrastructure
          const components: TrafficComponent[] = [
            ...(cluster.access === 'agent' ? [] : [new ServiceTrafficComponent(kc, log)]),
            createRpcComponent(kc, log),
            createDnsComponent(kc, log),
          ];
          this.traffic.set(cluster.name, components);
          await Promise.all(components.map((c) => c.start()));
        }),
      );
    });
    const requestsPerSecondPerPod = this.opts.requestMetrics?.requestsPerSecondPerPod ?? DEFAULT_REQUESTS_PER_SECOND_PER_POD;
    const simulator = new RequestMetrics({
      clusters: this.topology.clusters.map((c) => ({ name: c.name, kubeConfig: this.kubeConfig(c.name) })),
      requestsPerSecondPerPod,
      port: await freePort(),
      logger: this.logger,
    });
    this.requestMetrics = simulator;
    await progress.step(`starting the request simulator (${simulator.url}, ${requestsPerSecondPerPod} requests/s per pod)`, () =>
      simulator.start(),
    );
    this.prometheus = new PrometheusServer({
      port: await freePort(),
      dataDir: path.join(dataDir, 'prometheus'),
      configDir: path.join(this.runDir, 'prometheus'),
      logDir,
      scrapeTargets: [simulator.target],
      persistent,
    });
    await progress.step(`starting Prometheus on ${this.prometheus.url}`, () => this.prometheus!.start());
    await this.writeInfo();
  }

  async writeInfo(): Promise<string> {
    const file = path.join(this.runDir, 'sandbox.json');
    await writeFile(file, JSON.stringify(this.info(), null, 2), { mode: 0o600 });
    return file;
  }
}

async function ensureDir(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  return dir;
}

export function randomToken(): string {
  return randomBytes(24).toString('hex');
}
