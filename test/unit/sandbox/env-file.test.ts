import { execFileSync } from 'node:child_process';
import { mkdtemp, readlink, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { envFilePath, renderEnvFile, shellQuote, writeEnvFile, type SandboxEnv } from '../../../sandbox/env-file.js';
import { REPO_ROOT } from '../../../sandbox/paths.js';
import { parseStartOptions } from '../../../sandbox/start-options.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'barista-env-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const env: SandboxEnv = {
  API: 'http://127.0.0.1:40001',
  ADDR: '127.0.0.1:7233',
  KUBECONFIG: '/home/x/.cache/barista/run/default/kubeconfig',
  BARISTA_TOKEN: 'to\'ken$with`odd"chars',
  BARISTA_ENDPOINT: 'http://127.0.0.1:40001',
  TEMPORAL_ADDRESS: '127.0.0.1:7233',
  TEMPORAL_NAMESPACE: 'default',
  METRICS: 'http://127.0.0.1:40002/metrics',
};

test('the env file is mode 0600 and, sourced by a shell, exports exactly what npm start served', async () => {
  await writeFile(envFilePath(dir), 'old content', { mode: 0o644 });
  const file = await writeEnvFile(dir, env, { header: 'test' });
  expect(file).toBe(path.join(dir, 'env'));
  expect((await stat(file)).mode & 0o777).toBe(0o600);
  const script = `. ${shellQuote(file)} && node -e 'const e = process.env; console.log(JSON.stringify({API: e.API, ADDR: e.ADDR, KUBECONFIG: e.KUBECONFIG, BARISTA_TOKEN: e.BARISTA_TOKEN, BARISTA_ENDPOINT: e.BARISTA_ENDPOINT, TEMPORAL_ADDRESS: e.TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE: e.TEMPORAL_NAMESPACE, METRICS: e.METRICS}))' && command -v barista`;
  const [json, barista] = execFileSync('sh', ['-c', script], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } })
    .trim()
    .split('\n');
  expect(JSON.parse(json!)).toEqual(env);
  // `barista` on the PATH: the CLI of this checkout
  expect(barista).toBe(path.join(dir, 'bin', 'barista'));
  expect(await readlink(barista!)).toBe(path.join(REPO_ROOT, 'cli', 'bin.js'));
});

test('only the values given are exported; each is one shell word', () => {
  const text = renderEnvFile({ ...env, BARISTA_METRICS_PORT: '40002' }, { binDir: '/tmp/a b/bin' });
  expect(text).toMatch(/^# written by npm start; use it in a shell with: source <this file>\n/);
  expect(text).toContain("export BARISTA_METRICS_PORT='40002'\n");
  expect(text).not.toContain('BARISTA_AUDIT_DATABASE_URL');
  expect(text).toContain(`export BARISTA_TOKEN='to'\\''ken$with\`odd"chars'\n`);
  expect(text).toContain(`export PATH='/tmp/a b/bin':"$PATH"\n`);
});

test('npm start options: --no-worker or BARISTA_START_WORKER=0 leave the worker to `npm run worker`; anything else is refused', () => {
  expect(parseStartOptions([], {})).toEqual({ worker: true, help: false });
  expect(parseStartOptions(['--no-worker'], {})).toEqual({ worker: false, help: false });
  expect(parseStartOptions([], { BARISTA_START_WORKER: '0' }).worker).toBe(false);
  expect(parseStartOptions([], { BARISTA_START_WORKER: 'false' }).worker).toBe(false);
  expect(parseStartOptions([], { BARISTA_START_WORKER: '1' }).worker).toBe(true);
  expect(parseStartOptions(['--worker'], { BARISTA_START_WORKER: '0' }).worker).toBe(true);
  expect(() => parseStartOptions(['--no-wroker'], {})).toThrow(/unknown argument "--no-wroker"\nusage: npm start \[-- --no-worker\]/);
});
