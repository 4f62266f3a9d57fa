import path from 'node:path';
import { Connection } from '@temporalio/client';
import { temporalBinary } from './paths.js';
import { ManagedProcess } from './process/managed-process.js';

/** Search attributes Barista sets on releases, registered when the dev server starts. */
export const SEARCH_ATTRIBUTES = {
  BaristaApp: 'Keyword',
  BaristaTenant: 'Keyword',
  BaristaState: 'Keyword',
  BaristaKind: 'Keyword',
  BaristaTicket: 'Keyword',
} as const;

export interface TemporalServerOptions {
  port: number;
  /** The dev server's HTTP API and metrics ports; given explicitly so that it never takes a port meant for another process. */
  httpPort: number;
  metricsPort: number;
  uiPort?: number;
  logDir: string;
  /** SQLite file for a store that survives restarts; unset keeps everything in memory. */
  dbFile?: string;
  namespace: string;
}

/** The Temporal CLI dev server: a full Temporal server on SQLite, bound to loopback. */
export class TemporalServer {
  readonly process: ManagedProcess;

  constructor(readonly opts: TemporalServerOptions) {
    const args = [
      'server',
      'start-dev',
      '--ip',
      '127.0.0.1',
      '--port',
      String(opts.port),
      '--log-level',
      'warn',
      '--namespace',
      opts.namespace,
    ];
    if (opts.uiPort === undefined) args.push('--headless');
    else args.push('--ui-port', String(opts.uiPort));
    if (opts.dbFile) args.push('--db-filename', opts.dbFile);
    for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) args.push('--search-attribute', `${name}=${type}`);
    this.process = new ManagedProcess({
      name: 'temporal',
      command: temporalBinary(),
      args,
      logFile: path.join(opts.logDir, 'temporal.log'),
      env: { ...process.env, TEMPORAL_VERSION_CHECK_DISABLED: '1' },
    });
  }

  get address(): string {
    return `127.0.0.1:${this.opts.port}`;
  }

  async start(): Promise<void> {
    this.process.start();
    await this.process.waitUntilReady(() => this.answers(), 60_000);
  }

  stop(): Promise<void> {
    return this.process.stop();
  }

  /** True once the frontend answers and our namespace exists. */
  private async answers(): Promise<boolean> {
    const connection = await Connection.connect({ address: this.address, connectTimeout: 1_000 });
    try {
      await connection.workflowService.describeNamespace({ namespace: this.opts.namespace });
      return true;
    } finally {
      await connection.close();
    }
  }
}
