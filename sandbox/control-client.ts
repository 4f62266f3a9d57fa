import { readFile } from 'node:fs/promises';
import type { SandboxInfo } from './sandbox.js';
import type { RevisionFault, RevisionFaultInput, RevisionFaultTarget } from './traffic/request-model.js';

/** Talks to a running sandbox's control server from another process (tests, benches). */
export class SandboxControl {
  constructor(
    readonly url: string,
    private readonly token: string,
  ) {}

  /** Reads `<runDir>/sandbox.json` and the control token beside it. */
  static async fromRunDir(runDir: string): Promise<{ info: SandboxInfo; control: SandboxControl }> {
    const info = JSON.parse(await readFile(`${runDir}/sandbox.json`, 'utf8')) as SandboxInfo;
    const token = (await readFile(`${runDir}/control.token`, 'utf8')).trim();
    if (!info.controlUrl) throw new Error(`sandbox in ${runDir} has no control server`);
    return { info, control: new SandboxControl(info.controlUrl, token) };
  }

  stopCluster(name: string) {
    return this.post(`/clusters/${encodeURIComponent(name)}/stop`);
  }
  startCluster(name: string) {
    return this.post(`/clusters/${encodeURIComponent(name)}/start`);
  }
  /** SIGSTOP of the cluster's API server: connections stay open, nothing is answered. */
  freezeCluster(name: string) {
    return this.post(`/clusters/${encodeURIComponent(name)}/freeze`);
  }
  /** SIGCONT: the API server goes on with whatever it received meanwhile. */
  thawCluster(name: string) {
    return this.post(`/clusters/${encodeURIComponent(name)}/thaw`);
  }
  /** Stops the agent of an agent-served cluster (its process ends): the cluster's steps wait on a queue nobody polls. */
  stopAgent(cluster: string): Promise<unknown> {
    return this.post(`/agents/${encodeURIComponent(cluster)}/stop`);
  }

  /** Starts it again; resolves once it serves its queue. */
  startAgent(cluster: string): Promise<unknown> {
    return this.post(`/agents/${encodeURIComponent(cluster)}/start`);
  }

  /** The API server's Prometheus metrics (e.g. `apiserver_request_total` to count writes). */
  async apiServerMetrics(name: string): Promise<string> {
    const { metrics } = (await this.request('GET', `/clusters/${encodeURIComponent(name)}/metrics`)) as { metrics: string };
    return metrics;
  }
  stopNode(name: string) {
    return this.post(`/nodes/${encodeURIComponent(name)}/stop`);
  }
  startNode(name: string) {
    return this.post(`/nodes/${encodeURIComponent(name)}/start`);
  }
  /** Stops the audit store's PostgreSQL (fast shutdown: its connections close, new ones are refused); data kept. */
  stopAuditDatabase() {
    return this.post('/audit-database/stop');
  }
  /** Starts it again on the same address, password and data. */
  startAuditDatabase() {
    return this.post('/audit-database/start');
  }
  /** Stops the sandbox's Prometheus (its address refuses connections); data kept. */
  stopPrometheus() {
    return this.post('/prometheus/stop');
  }
  /** Starts it again on the same address with the same data, and waits until it is ready. */
  startPrometheus() {
    return this.post('/prometheus/start');
  }
  /**
   * Pods of `app` at `revision` answer `errorPercent` % more errors (on top of the base 0.1 %) and take `latencyMs`
   * longer, in `namespace` or (without one) in every namespace. Replaces a fault set for the same target.
   */
  async setRevisionFault(fault: RevisionFaultInput): Promise<RevisionFault> {
    return (await this.request('PUT', '/faults/revision', fault)) as RevisionFault;
  }
  /** Removes the fault set for exactly this target; one that is not set is an error (404). */
  async clearRevisionFault(target: RevisionFaultTarget): Promise<RevisionFault> {
    const { cleared } = (await this.request('DELETE', '/faults/revision', target)) as { cleared: RevisionFault };
    return cleared;
  }
  async revisionFaults(): Promise<RevisionFault[]> {
    const { faults } = (await this.request('GET', '/faults/revision')) as { faults: RevisionFault[] };
    return faults;
  }
  setImageBad(image: string, bad = true) {
    return this.post('/faults/images', { image, bad });
  }
  setStartLatency(cluster: string, ms: number) {
    return this.post(`/clusters/${encodeURIComponent(cluster)}/start-latency`, { ms });
  }

  setDeregistrationDelay(component: string, ms: number) {
    return this.post(`/traffic/${encodeURIComponent(component)}/deregistration-delay`, { ms });
  }

  private post(path: string, body: unknown = {}): Promise<unknown> {
    return this.request('POST', path, body);
  }

  private async request(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<unknown> {
    const res = await fetch(`${this.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const payload: unknown = await res.json();
    if (!res.ok) throw new Error(`sandbox control ${path}: ${res.status} ${JSON.stringify(payload)}`);
    return payload;
  }
}
