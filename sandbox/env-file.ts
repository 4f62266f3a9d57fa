import { chmod, mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { REPO_ROOT } from './paths.js';

/** `<runDir>/env`: what `npm start` exports for the shells that use it (`source` it). */
export function envFilePath(runDir: string): string {
  return path.join(runDir, 'env');
}

/** `<runDir>/bin`: links to the commands the docs use (`barista`, `temporal`), put on the PATH by the env file. */
export function envBinDir(runDir: string): string {
  return path.join(runDir, 'bin');
}

/**
 * What the env file exports. The short names are the docs' (`$API`, `$ADDR`); the others are what the CLI
 * (BARISTA_ENDPOINT, BARISTA_TOKEN), kubectl (KUBECONFIG), the Temporal CLI and `npm run worker` (TEMPORAL_ADDRESS,
 * TEMPORAL_NAMESPACE, BARISTA_*) read.
 */
export interface SandboxEnv {
  /** The HTTP API's base URL. */
  API: string;
  /** Temporal's frontend, host:port. */
  ADDR: string;
  KUBECONFIG: string;
  BARISTA_TOKEN: string;
  BARISTA_ENDPOINT: string;
  TEMPORAL_ADDRESS: string;
  TEMPORAL_NAMESPACE: string;
  /** The worker's Prometheus metrics, `http://127.0.0.1:<port>/metrics`. */
  METRICS?: string;
  /** Only with `--no-worker`: the port `npm run worker` serves its metrics on (the one `METRICS` names). */
  BARISTA_METRICS_PORT?: string;
  BARISTA_AUDIT_DATABASE_URL?: string;
  BARISTA_PROMETHEUS_URL?: string;
}

/** One value as a POSIX shell word: single-quoted, a quote inside as '\''. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** The env file's text: `export NAME=value` lines, then the bin directory put in front of PATH. */
export function renderEnvFile(env: SandboxEnv, opts: { binDir?: string; header?: string } = {}): string {
  const lines = [
    `# ${opts.header ?? 'written by npm start'}; use it in a shell with: source <this file>`,
    ...Object.entries(env)
      .filter((e): e is [string, string] => e[1] !== undefined)
      .map(([name, value]) => `export ${name}=${shellQuote(value)}`),
    ...(opts.binDir ? [`export PATH=${shellQuote(opts.binDir)}:"$PATH"`] : []),
  ];
  return `${lines.join('\n')}\n`;
}

/**
 * Writes the env file (mode 0600: it holds the API token) in one step (aside, then renamed into place), and links
 * `<runDir>/bin/<name>` to each of `commands` (by default `barista`, the CLI of this checkout), so that the docs'
 * commands work as written in a shell that sourced it.
 */
export async function writeEnvFile(
  runDir: string,
  env: SandboxEnv,
  opts: { header?: string; commands?: Record<string, string> } = {},
): Promise<string> {
  const file = envFilePath(runDir);
  const binDir = envBinDir(runDir);
  await mkdir(binDir, { recursive: true });
  for (const [name, target] of Object.entries(opts.commands ?? { barista: path.join(REPO_ROOT, 'cli', 'bin.js') })) {
    const link = path.join(binDir, name);
    await rm(link, { force: true });
    await symlink(target, link);
  }
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, renderEnvFile(env, { binDir, ...(opts.header ? { header: opts.header } : {}) }), { mode: 0o600 });
  await chmod(tmp, 0o600); // the mode of writeFile is masked by the umask; 0600 is what it must be
  await rename(tmp, file);
  return file;
}
