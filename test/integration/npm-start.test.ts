import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readdir, mkdtemp, rm, stat, symlink, writeFile, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { cacheDir, REPO_ROOT } from '../../sandbox/paths.js';
import { readLock, startLockFile } from '../../sandbox/start-lock.js';
import { eventually } from '../support/sandbox.js';
import { stopGracefully } from '../support/worker-process.js';

/**
 * `npm start`'s entry point for real, once, kept cheap: one cluster with one node, in a cache of its own (the
 * binaries linked from the real one, so nothing is built), without its in-process worker. Its env file, sourced by
 * a shell, is all `npm run worker` and the CLI need; the worker's metrics are served on the port it printed; a
 * second start on the same cache is refused with the first one's PID and addresses; Ctrl-C removes lock and env file.
 */
const run = promisify(execFile);
let cache: string;
let started: ChildProcess | undefined;
let worker: ChildProcess | undefined;

beforeAll(async () => {
  cache = await mkdtemp(path.join(os.tmpdir(), 'barista-npm-start-'));
  for (const entry of await readdir(cacheDir())) if (entry !== 'run') await symlink(path.join(cacheDir(), entry), path.join(cache, entry));
  await writeFile(
    path.join(cache, 'topology.yaml'),
    'clusters:\n  - name: kc1\n    tenant: acme\n    workspace: prod\n    cells:\n      - { name: rz00a, nodes: 1 }\n',
  );
});
afterAll(async () => {
  // a test that failed left them running: SIGTERM stops npm start's sandbox too (SIGKILL would leave PostgreSQL behind)
  for (const child of [worker, started]) if (child) await stopGracefully(child, 60_000);
  await rm(cache, { recursive: true, force: true });
});

/** sandbox/main.ts as `npm start` runs it (without the prestart provisioning: the cache is ready). */
function npmStart(args: string[]): ChildProcess & { output: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'sandbox', 'main.ts'), ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, BARISTA_CACHE: cache, BARISTA_TOPOLOGY: path.join(cache, 'topology.yaml') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  return Object.assign(child, { output: () => output });
}

const exited = (child: ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve(child.exitCode)
    : new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

test('npm start: env file to source, metrics port, one start per cache, the worker as its own process', async () => {
  const first = npmStart(['--no-worker']);
  started = first;
  const up = await eventually(
    'npm start to be up',
    async () => {
      if (first.exitCode !== null) throw new Error(`npm start exited ${first.exitCode}:\n${first.output()}`);
      return /Barista sandbox is up/.test(first.output()) && /Ctrl-C stops everything/.test(first.output()) ? first.output() : undefined;
    },
    150_000,
  );
  const envFile = /^ {2}source (\S+)$/m.exec(up)?.[1];
  expect(envFile).toBe(path.join(cache, 'run', 'default', 'env'));
  expect((await stat(envFile!)).mode & 0o777).toBe(0o600);
  const metricsUrl = /^ {2}metrics: {4}(\S+)/m.exec(up)?.[1];
  expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);

  // sourced by a shell: everything the docs use, and `barista` on the PATH
  const sh = (script: string) =>
    run('sh', ['-c', `. '${envFile}' && ${script}`], { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? '', HOME: os.homedir() } });
  const env = JSON.parse(
    (
      await sh(
        `node -e 'const e = process.env; console.log(JSON.stringify({API: e.API, ADDR: e.ADDR, KUBECONFIG: e.KUBECONFIG, BARISTA_TOKEN: e.BARISTA_TOKEN, BARISTA_ENDPOINT: e.BARISTA_ENDPOINT, METRICS: e.METRICS, BARISTA_METRICS_PORT: e.BARISTA_METRICS_PORT}))'`,
      )
    ).stdout,
  ) as Record<string, string>;
  expect(env.API).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  expect(env.BARISTA_ENDPOINT).toBe(env.API);
  expect(up).toContain(`API:        ${env.API}`);
  expect(up).toContain(`Temporal:   ${env.ADDR} `);
  expect(env.KUBECONFIG).toBe(path.join(cache, 'run', 'default', 'kubeconfig'));
  expect(env.BARISTA_TOKEN).toBe((await readFile(path.join(cache, 'run', 'default', 'api.token'), 'utf8')).trim());
  expect(env.METRICS).toBe(metricsUrl);
  expect(env.BARISTA_METRICS_PORT).toBe(new URL(metricsUrl!).port);
  expect((await sh('barista app list acme')).stdout).toBeDefined();

  // a second start on the same cache: refused, naming the first
  const second = npmStart([]);
  expect(await exited(second)).toBe(3);
  expect(second.output()).toContain(`npm start is already running on ${path.join(cache, 'run', 'default')} (PID ${first.pid}`);
  expect(second.output()).toContain(`API:        ${env.API}`);
  expect(second.output()).toContain(`source ${envFile}`);
  expect((await readLock(startLockFile(path.join(cache, 'run', 'default'))))?.pid).toBe(first.pid);

  // the worker as its own process, configured by the env file alone: it serves its metrics on the printed port
  worker = spawn('sh', ['-c', `. '${envFile}' && exec node --import tsx worker/main.ts`], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: os.homedir(), BARISTA_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const metrics = await eventually('the worker serving its metrics', async () => (await fetch(metricsUrl!)).text(), 60_000);
  expect(metrics).toContain('barista_pods_changed_total');
  worker.kill('SIGTERM');
  expect(await exited(worker)).toBe(0);

  // Ctrl-C: everything stops, the lock and the env file (its token is dead) go with it
  first.kill('SIGINT');
  expect(await exited(first)).toBe(0);
  await expect(stat(envFile!)).rejects.toMatchObject({ code: 'ENOENT' });
  await expect(stat(startLockFile(path.join(cache, 'run', 'default')))).rejects.toMatchObject({ code: 'ENOENT' });
}, 300_000);
