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
  stopNode(name: string) {
    return this.post(`/nodes/${encodeURIComponent(name)}/stop`);
  }
  startNode(name: string) {
    return this.post(`/nodes/${encodeURIComponent(name)}/start`);
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

  private async post(path: string, body: unknown = {}): Promise<unknown> {
    const res = await fetch(`${this.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const payload: unknown = await res.json();
    if (!res.ok) throw new Error(`sandbox control ${path}: ${res.status} ${JSON.stringify(payload)}`);
    return payload;
  }
}
