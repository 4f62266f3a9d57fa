import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { Client, Connection } from '@temporalio/client';
import protos from '@temporalio/proto';
import { clusterTaskQueue } from '../../domain/cluster-queues.js';
import { connectSandbox, eventually, type TestSandbox } from '../support/sandbox.js';
import { choosePort } from '../../sandbox/process/ports.js';
import { restrictedKubeConfig } from '../../sandbox/agent-processes.js';

const freePort = () => choosePort(undefined, 'the agent metrics');

/**
 * The agent's entry point (`npm run agent`, worker/agent.ts) as its own process on the sandbox: with one cluster's
 * kubeconfig it polls that cluster's queue and stops cleanly on SIGTERM; given a cluster the topology does not
 * know, or another cluster's credentials, it refuses to start with a message that says which.
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
let sandbox: TestSandbox;
let dir: string;
let client: Client;
let connection: Connection;
const children: ChildProcess[] = [];

beforeAll(async () => {
  sandbox = await connectSandbox();
  dir = mkdtempSync(path.join(tmpdir(), 'barista-agent-'));
  // the sandbox's clusters, kc2 agent-served
  const topology = {
    clusters: sandbox.info.clusters.map((c) => ({
      name: c.name,
      tenant: c.tenant,
      workspace: c.workspace,
      cells: c.cells.map((name) => ({ name })),
      access: c.name === 'kc2' ? 'agent' : 'direct',
    })),
  };
  writeFileSync(path.join(dir, 'topology.json'), JSON.stringify(topology));
  for (const cluster of ['kc1', 'kc2']) writeFileSync(path.join(dir, `${cluster}.kubeconfig`), oneCluster(cluster), { mode: 0o600 });
  connection = await Connection.connect({ address: sandbox.info.temporalAddress });
  client = new Client({ connection, namespace: sandbox.info.temporalNamespace });
});
afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await connection?.close();
});

/** The sandbox's kubeconfig with one context only: what an agent of that cluster holds. */
function oneCluster(name: string): string {
  const all = new KubeConfig();
  all.loadFromFile(sandbox.info.kubeconfig);
  return restrictedKubeConfig(all, (c) => c === name).exportConfig();
}

function startAgent(
  cluster: string,
  kubeconfigOf: string,
  extraEnv: Record<string, string> = {},
): { child: ChildProcess; exited: Promise<number | null>; stderr: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'worker', 'agent.ts'), '--cluster', cluster], {
    cwd: root,
    env: {
      ...process.env,
      BARISTA_TOPOLOGY: path.join(dir, 'topology.json'),
      KUBECONFIG: path.join(dir, `${kubeconfigOf}.kubeconfig`),
      TEMPORAL_ADDRESS: sandbox.info.temporalAddress,
      TEMPORAL_NAMESPACE: sandbox.info.temporalNamespace,
      BARISTA_LOG_LEVEL: 'warn',
      // no drift Schedules for the shared sandbox's tenants: their runs would go to a queue no test polls
      BARISTA_DRIFT_TENANTS: 'none',
      ...extraEnv,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited, stderr: () => err };
}

test('an agent with its cluster’s kubeconfig polls barista-cluster-kc2, serves its metrics, and stops cleanly on SIGTERM', async () => {
  const port = await freePort();
  const agent = startAgent('kc2', 'kc2', { BARISTA_METRICS_PORT: String(port) });
  await eventually(
    'the agent polling barista-cluster-kc2',
    async () => {
      if (agent.child.exitCode !== null) throw new Error(`agent exited: ${agent.stderr()}`);
      const d = await client.workflowService.describeTaskQueue({
        namespace: sandbox.info.temporalNamespace,
        taskQueue: { name: clusterTaskQueue('kc2') },
        taskQueueType: protos.temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
      });
      return d.pollers?.some((p) => p.identity?.startsWith(`${agent.child.pid}@`)) ? true : undefined;
    },
    120_000,
  );
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  expect(metrics).toContain('barista_kube_requests_total');
  agent.child.kill('SIGTERM');
  expect(await agent.exited).toBe(0);
}, 180_000);

test('an agent for a cluster the topology does not know refuses to start, naming it', async () => {
  const agent = startAgent('kc9', 'kc2');
  expect(await agent.exited).toBe(1);
  expect(agent.stderr()).toMatch(/UNKNOWN_CLUSTER.*kc9/);
}, 120_000);

test('an agent given another cluster’s credentials refuses to start: the API server’s cells are not its cluster’s', async () => {
  const agent = startAgent('kc2', 'kc1');
  expect(await agent.exited).toBe(1);
  expect(agent.stderr()).toMatch(/WRONG_CLUSTER.*kc2/);
}, 120_000);
