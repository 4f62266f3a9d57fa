import { readFile } from 'node:fs/promises';
import type { SandboxInfo } from './sandbox.js';

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

  private async request(method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
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
