import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { prometheusBinary } from './paths.js';
import { ManagedProcess } from './process/managed-process.js';

export interface PrometheusServerOptions {
  port: number;
  /** Directory of its TSDB; kept by `halt()`, removed by `stop()` unless `persistent`. */
  dataDir: string;
  /** Where its configuration file is written. */
  configDir: string;
  logDir: string;
  /** `host:port` targets scraped every second at `/metrics` (the sandbox's request metrics). */
  scrapeTargets: string[];
  persistent: boolean;
}

/** Job name of the sandbox's request metrics in Prometheus (the `job` label of their series). */
export const REQUEST_METRICS_JOB = 'sandbox-requests';

/** Prometheus' configuration: the request metrics scraped every second, nothing else. */
export function prometheusConfig(targets: string[]): string {
  return [
    'global:',
    '  scrape_interval: 1s',
    '  scrape_timeout: 1s',
    '  evaluation_interval: 1s',
    'scrape_configs:',
    `  - job_name: ${REQUEST_METRICS_JOB}`,
    '    metrics_path: /metrics',
    '    honor_labels: true',
    '    static_configs:',
    `      - targets: [${targets.map((t) => JSON.stringify(t)).join(', ')}]`,
    '',
  ].join('\n');
}

/**
 * A real Prometheus server (built from the Go module proxy, see provision/prometheus.ts) bound to loopback,
 * scraping the sandbox's simulated request metrics. Its HTTP API (`/api/v1/query`...) is what verification gates
 * query; the build has no web UI.
 */
export class PrometheusServer {
  readonly process: ManagedProcess;
  private readonly configFile: string;

  constructor(readonly opts: PrometheusServerOptions) {
    this.configFile = path.join(opts.configDir, 'prometheus.yml');
    this.process = new ManagedProcess({
      name: 'prometheus',
      command: prometheusBinary(),
      args: [
        `--config.file=${this.configFile}`,
        `--storage.tsdb.path=${opts.dataDir}`,
        `--web.listen-address=127.0.0.1:${opts.port}`,
        '--storage.tsdb.retention.time=7d',
        '--log.level=warn',
      ],
      logFile: path.join(opts.logDir, 'prometheus.log'),
    });
  }

  /** http://127.0.0.1:<port>: the base of its HTTP API. */
  get url(): string {
    return `http://127.0.0.1:${this.opts.port}`;
  }

  get running(): boolean {
    return this.process.running;
  }

  /** Writes the configuration, starts the server and waits until `/-/ready` answers 200. */
  async start(): Promise<void> {
    if (this.process.running) return;
    await mkdir(this.opts.dataDir, { recursive: true });
    await mkdir(this.opts.configDir, { recursive: true });
    await writeFile(this.configFile, prometheusConfig(this.opts.scrapeTargets));
    this.process.start();
    await this.process.waitUntilReady(() => this.ready(), 60_000);
  }

  /** Stops the server and keeps its data: `start()` brings it back on the same address with the same series. */
  halt(): Promise<void> {
    return this.process.stop();
  }

  /** Stops the server; its data is removed unless the sandbox is persistent. */
  async stop(): Promise<void> {
    await this.halt();
    if (!this.opts.persistent) await rm(this.opts.dataDir, { recursive: true, force: true });
  }

  private async ready(): Promise<boolean> {
    const res = await fetch(`${this.url}/-/ready`, { signal: AbortSignal.timeout(1_000) });
    await res.arrayBuffer();
    return res.ok;
  }
}
