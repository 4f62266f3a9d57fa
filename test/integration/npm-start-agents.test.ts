import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { CoordinationV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { cacheDir, REPO_ROOT } from '../../sandbox/paths.js';
import { eventually } from '../support/sandbox.js';
import { stopGracefully } from '../support/worker-process.js';

/**
 * `npm start` with a topology whose kc2 is agent-served (issue #16): kc2's agent runs as its own process with
 * only kc2's kubeconfig, the worker gets a kubeconfig without kc2, and a release over both clusters succeeds
 * through the CLI. The sandbox's control API stops the agent (a release then pauses naming it) and starts it
 * again. One cell of one node per cluster, in a cache of its own (binaries linked from the real one).
 */
const run = promisify(execFile);
let cache: string;
let started: ChildProcess | undefined;

beforeAll(async () => {
  cache = await mkdtemp(path.join(os.tmpdir(), 'barista-npm-start-agents-'));
  for (const entry of await readdir(cacheDir())) if (entry !== 'run') await symlink(path.join(cacheDir(), entry), path.join(cache, entry));
  await writeFile(
    path.join(cache, 'topology.yaml'),
    [
      'clusters:',
      '  - { name: kc1, cells: [{ name: rz00a, nodes: 1 }] }',
      '  - { name: kc2, access: agent, cells: [{ name: rz01a, nodes: 1 }] }',
      '',
    ].join('\n'),
  );
});
afterAll(async () => {
  // a test that failed left it running: SIGTERM stops its sandbox too (SIGKILL would leave PostgreSQL behind)
  if (started) await stopGracefully(started, 60_000);
  await rm(cache, { recursive: true, force: true });
});

test('npm start runs an agent-served cluster through its own agent process; a release over both clusters succeeds', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'sandbox', 'main.ts')], {
    cwd: REPO_ROOT,
    env: { ...process.env, BARISTA_CACHE: cache, BARISTA_TOPOLOGY: path.join(cache, 'topology.yaml'), BARISTA_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started = child;
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const up = await eventually(
    'npm start to be up',
    async () => {
      if (child.exitCode !== null) throw new Error(`npm start exited ${child.exitCode}:\n${output}`);
      return /Ctrl-C stops everything/.test(output) ? output : undefined;
    },
    180_000,
  );
  const runDir = path.join(cache, 'run', 'default');
  expect(up).toMatch(/agent: {6}cluster kc2 served by its agent \(PID \d+/);
  // the worker's kubeconfig holds kc1 only; the agent's kc2 only
  const central = new KubeConfig();
  central.loadFromFile(path.join(runDir, 'agents', 'central.kubeconfig'));
  expect(central.contexts.map((c) => c.name)).toEqual(['kc1']);
  const agentKc = new KubeConfig();
  agentKc.loadFromFile(path.join(runDir, 'agents', 'kc2.kubeconfig'));
  expect(agentKc.contexts.map((c) => c.name)).toEqual(['kc2']);

  const envFile = path.join(runDir, 'env');
  const sh = (script: string) =>
    run('sh', ['-c', `. '${envFile}' && ${script}`], { cwd: cache, env: { PATH: process.env.PATH ?? '', HOME: os.homedir() } });
  await writeFile(
    path.join(cache, 'app.yaml'),
    [
      'name: both',
      'tenant: acme',
      'workspace: prod',
      'replicasPerCell: 1',
      'placement: { cells: [rz00a, rz01a] }',
      "template: { containers: [{ name: web, image: 'registry.local/both:1' }] }",
      // the release waits for each pod to be routed to by its Service: kc2's by the component its agent runs
      'traffic: [{ name: service }]',
      '',
    ].join('\n'),
  );
  await sh('barista app apply -f app.yaml');
  await sh('barista release start acme/both --groups 1');
  await sh('barista release status acme/both --watch > /dev/null');
  const status = JSON.parse(
    (
      await sh(
        `node -e 'fetch(process.env.API + "/v1/tenants/acme/apps/both/release", { headers: { authorization: "Bearer " + process.env.BARISTA_TOKEN } }).then((r) => r.text()).then(console.log)'`,
      )
    ).stdout,
  ) as { state: string };
  expect(status.state).toBe('succeeded');
  // kc2's pod, read with the sandbox's own kubeconfig: created by the agent (the worker holds no kc2 credentials)
  const all = new KubeConfig();
  all.loadFromFile(path.join(runDir, 'kubeconfig'));
  all.setCurrentContext('kc2');
  const kc2Pods = await all.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: 'acme-prod', labelSelector: 'barista.dev/app=both' });
  expect(kc2Pods.items.map((p) => p.spec?.containers[0]?.image)).toEqual(['registry.local/both:1']);
  expect(kc2Pods.items[0]!.metadata?.finalizers).toContain('traffic.barista.dev/service');
  // the sandbox runs no Service component in kc2: the agent's process holds the cluster's Lease (identity host-<pid>-…)
  const lease = await all
    .makeApiClient(CoordinationV1Api)
    .readNamespacedLease({ name: 'barista-traffic-service', namespace: 'barista-system' });
  const holderPid = /^.+-(\d+)-[a-z0-9]+$/.exec(lease.spec?.holderIdentity ?? '')?.[1];
  expect((await readFile(`/proc/${holderPid}/cmdline`, 'utf8')).split('\0')).toEqual(
    expect.arrayContaining([path.join(REPO_ROOT, 'worker', 'agent.ts'), '--cluster', 'kc2']),
  );

  // the control API stops the agent: the process ends
  const controlUrl = /^ {2}control: {4}(\S+)/m.exec(up)![1]!;
  const token = (await readFile(path.join(runDir, 'control.token'), 'utf8')).trim();
  const control = (method: string, route: string) =>
    fetch(`${controlUrl}${route}`, { method, headers: { authorization: `Bearer ${token}` } }).then(async (r) => ({
      status: r.status,
      body: (await r.json()) as unknown,
    }));
  expect(await control('POST', '/agents/kc2/stop')).toEqual({ status: 200, body: { cluster: 'kc2', running: false } });
  expect((await control('GET', '/agents')).body).toEqual({ agents: [expect.objectContaining({ cluster: 'kc2', running: false })] });
  expect((await control('POST', '/agents/kc1/stop')).status).toBe(404); // kc1 is direct: no agent
  expect(await control('POST', '/agents/kc2/start')).toEqual({
    status: 200,
    body: expect.objectContaining({ cluster: 'kc2', running: true }),
  });

  child.kill('SIGINT');
  expect(await new Promise((resolve) => child.once('exit', resolve))).toBe(0);
}, 400_000);
