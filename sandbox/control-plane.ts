import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { httpsStatus, httpsText } from './https-probe.js';
import { writeKubeconfig } from './kubeconfig.js';
import { kubeBinary } from './paths.js';
import { SandboxError } from './errors.js';
import { ManagedProcess } from './process/managed-process.js';

export interface ControlPlaneOptions {
  name: string;
  dir: string;
  etcdUrl: string;
  port: number;
}

/** What a client needs to reach one cluster's API server. */
export interface ClusterEndpoint {
  name: string;
  server: string;
  /** PEM of the API server's self-generated serving certificate chain. */
  ca: string;
  token: string;
}

/**
 * One simulated cluster's control plane: a real kube-apiserver (etcd prefix per cluster) and a real
 * kube-controller-manager running the controllers Barista relies on (StatefulSet, EndpointSlice, GC, ...).
 */
export class ControlPlane {
  readonly apiServer: ManagedProcess;
  readonly controllerManager: ManagedProcess;
  private endpointCache: ClusterEndpoint | undefined;
  private frozen = false;

  constructor(readonly opts: ControlPlaneOptions) {
    const d = (f: string) => path.join(opts.dir, f);
    this.apiServer = new ManagedProcess({
      name: `${opts.name}/kube-apiserver`,
      command: kubeBinary('kube-apiserver'),
      args: [
        `--etcd-servers=${opts.etcdUrl}`,
        `--etcd-prefix=/registry-${opts.name}`,
        `--cert-dir=${d('certs')}`,
        `--secure-port=${opts.port}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        '--service-cluster-ip-range=10.0.0.0/24',
        '--allow-privileged=true',
        '--disable-admission-plugins=ServiceAccount',
        '--authorization-mode=RBAC',
        `--token-auth-file=${d('tokens.csv')}`,
        `--service-account-issuer=https://127.0.0.1:${opts.port}/`,
        `--service-account-key-file=${d('sa.pub')}`,
        `--service-account-signing-key-file=${d('sa.key')}`,
        '--endpoint-reconciler-type=none',
        // StatefulSet maxUnavailable (alpha in 1.34): the native baseline of bench/release updates in waves with it
        '--feature-gates=MaxUnavailableStatefulSet=true',
        '--profiling=false',
        '--v=0',
      ],
      logFile: d('kube-apiserver.log'),
    });
    this.controllerManager = new ManagedProcess({
      name: `${opts.name}/kube-controller-manager`,
      command: kubeBinary('kube-controller-manager'),
      args: [
        `--kubeconfig=${d('admin.kubeconfig')}`,
        '--leader-elect=false',
        '--secure-port=0',
        `--cluster-name=${opts.name}`,
        '--controllers=statefulset-controller,endpointslice-controller,endpointslice-mirroring-controller,garbage-collector-controller,namespace-controller,replicaset-controller,deployment-controller,serviceaccount-controller',
        '--use-service-account-credentials=false',
        '--kube-api-qps=200',
        '--kube-api-burst=400',
        '--concurrent-statefulset-syncs=10',
        '--feature-gates=MaxUnavailableStatefulSet=true',
        '--v=0',
      ],
      logFile: d('kube-controller-manager.log'),
    });
  }

  get server(): string {
    return `https://127.0.0.1:${this.opts.port}`;
  }

  get running(): boolean {
    return this.apiServer.running;
  }

  /** Starts (or restarts) both processes and waits until the API server is ready. Credentials survive restarts. */
  async start(): Promise<ClusterEndpoint> {
    const token = await this.ensureCredentials();
    this.apiServer.start();
    const caFile = path.join(this.opts.dir, 'certs', 'apiserver.crt');
    await this.apiServer.waitUntilReady(async () => {
      if (!existsSync(caFile)) return false;
      return (await httpsStatus(`${this.server}/readyz`, { ca: await readFile(caFile, 'utf8'), token })) === 200;
    }, 90_000);
    const endpoint: ClusterEndpoint = { name: this.opts.name, server: this.server, ca: await readFile(caFile, 'utf8'), token };
    this.endpointCache = endpoint;
    await writeKubeconfig(path.join(this.opts.dir, 'admin.kubeconfig'), [endpoint]);
    this.controllerManager.start();
    return endpoint;
  }

  async stop(): Promise<void> {
    this.thaw(); // a stopped process would not see the request to stop
    await this.controllerManager.stop();
    await this.apiServer.stop();
  }

  /**
   * Freezes the API server with SIGSTOP (its process group: the watchdog and kube-apiserver): its port stays
   * open and the kernel still accepts connections and keeps existing ones alive, but nothing is answered, like
   * a hung host. `thaw()` (SIGCONT) lets it go on with whatever it had received meanwhile.
   */
  freeze(): void {
    const pid = this.apiServer.pid;
    if (!this.apiServer.running || pid === undefined)
      throw new SandboxError('NOT_READY', `the API server of cluster ${this.opts.name} is not running`, { cluster: this.opts.name });
    process.kill(-pid, 'SIGSTOP');
    this.frozen = true;
  }

  thaw(): void {
    const pid = this.apiServer.pid;
    if (!this.frozen || pid === undefined) return;
    this.frozen = false;
    try {
      process.kill(-pid, 'SIGCONT');
    } catch {
      // already gone
    }
  }

  get isFrozen(): boolean {
    return this.frozen;
  }

  endpoint(): ClusterEndpoint {
    if (!this.endpointCache) throw new Error(`cluster ${this.opts.name} has not been started`);
    return this.endpointCache;
  }

  /** Prometheus text from the API server's /metrics (used by benches to count writes). */
  metrics(): Promise<string> {
    const { ca, token } = this.endpoint();
    return httpsText(`${this.server}/metrics`, { ca, token });
  }

  /** Writes the admin token file and service-account keys once; later starts reuse them. */
  private async ensureCredentials(): Promise<string> {
    const dir = this.opts.dir;
    await mkdir(path.join(dir, 'certs'), { recursive: true, mode: 0o700 });
    const tokenFile = path.join(dir, 'tokens.csv');
    if (!existsSync(tokenFile)) {
      const token = randomBytes(24).toString('hex');
      // token,user,uid,"groups": the sandbox admin is in system:masters
      await writeFile(tokenFile, `${token},barista-admin,barista-admin,"system:masters"\n`, { mode: 0o600 });
      const { publicKey, privateKey } = generateKeyPairSync('rsa', {
        modulusLength: 2048,
        publicKeyEncoding: { type: 'spki', format: 'pem' },
        privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      });
      await writeFile(path.join(dir, 'sa.pub'), publicKey, { mode: 0o600 });
      await writeFile(path.join(dir, 'sa.key'), privateKey, { mode: 0o600 });
    }
    const line = (await readFile(tokenFile, 'utf8')).split('\n')[0] ?? '';
    return line.split(',')[0] ?? '';
  }
}
