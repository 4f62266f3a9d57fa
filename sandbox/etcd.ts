import path from 'node:path';
import { mkdir } from 'node:fs/promises';
import { kubeBinary } from './paths.js';
import { ManagedProcess } from './process/managed-process.js';

export interface EtcdOptions {
  dataDir: string;
  logDir: string;
  clientPort: number;
  peerPort: number;
}

/** One etcd for every control plane of the sandbox; each API server keeps its own key prefix. */
export class Etcd {
  readonly process: ManagedProcess;

  constructor(readonly opts: EtcdOptions) {
    const client = `http://127.0.0.1:${opts.clientPort}`;
    const peer = `http://127.0.0.1:${opts.peerPort}`;
    this.process = new ManagedProcess({
      name: 'etcd',
      command: kubeBinary('etcd'),
      args: [
        '--name=sandbox',
        `--data-dir=${opts.dataDir}`,
        `--listen-client-urls=${client}`,
        `--advertise-client-urls=${client}`,
        `--listen-peer-urls=${peer}`,
        `--initial-advertise-peer-urls=${peer}`,
        `--initial-cluster=sandbox=${peer}`,
        '--unsafe-no-fsync=true', // a sandbox trades durability on power loss for speed
        '--quota-backend-bytes=4294967296',
        '--log-level=warn',
      ],
      logFile: path.join(opts.logDir, 'etcd.log'),
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.opts.clientPort}`;
  }

  async start(): Promise<void> {
    await mkdir(this.opts.dataDir, { recursive: true });
    this.process.start();
    await this.process.waitUntilReady(async () => (await fetch(`${this.url}/health`)).ok, 30_000);
  }

  stop(): Promise<void> {
    return this.process.stop();
  }
}
