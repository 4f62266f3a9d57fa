/**
 * bench/release: 200 pods over 4 cells (2 clusters × 2) in 5 groups with auto gates and a fixed simulated
 * start latency. Prints the overhead ratio (wall time ÷ critical path of simulated pod transitions + gate
 * windows), API server write requests per pod, and Temporal history events. Figures, not assertions.
 * The Barista worker runs as its own process (`worker/main.ts`, as in production), apart from the
 * simulated kubelets and traffic components of this process.
 * Env: BENCH_PODS_PER_CELL (50), BENCH_LATENCY_MS (2000), BENCH_WINDOW_S (2), BENCH_GROUPS (5),
 * BENCH_WORKER_LOG (warn; `info` logs each pod's step timings to bench-worker.log in the cache directory).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { ReleaseClient } from '../api/release-client.js';
import { createLogger } from '../sandbox/logger.js';
import { cacheDir } from '../sandbox/paths.js';
import { Sandbox } from '../sandbox/sandbox.js';
import { createProgress, silentProgress } from '../sandbox/progress.js';
import { provisionAll } from '../sandbox/provision/index.js';

const perCell = Number(process.env.BENCH_PODS_PER_CELL ?? 50);
const latencyMs = Number(process.env.BENCH_LATENCY_MS ?? 2000);
const windowS = Number(process.env.BENCH_WINDOW_S ?? 2);
const groups = Number(process.env.BENCH_GROUPS ?? 5);
const say = (line: string) => process.stderr.write(`[bench] ${line}\n`);

/** Sum of apiserver_request_total for write verbs, per "verb resource/subresource". */
function writeCounts(metrics: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of metrics.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const verb = /verb="([A-Z]+)"/.exec(line)?.[1] ?? '';
    if (!['POST', 'PUT', 'PATCH', 'APPLY', 'DELETE'].includes(verb)) continue;
    const resource = /resource="([^"]*)"/.exec(line)?.[1] ?? '';
    const sub = /subresource="([^"]*)"/.exec(line)?.[1] ?? '';
    const key = `${verb} ${resource}${sub ? `/${sub}` : ''}`;
    counts.set(key, (counts.get(key) ?? 0) + Number(line.split(' ').pop()));
  }
  return counts;
}

async function snapshot(sandbox: Sandbox): Promise<Map<string, number>> {
  const total = new Map<string, number>();
  for (const cluster of sandbox.clusterNames)
    for (const [k, v] of writeCounts(await sandbox.apiServerMetrics(cluster))) total.set(k, (total.get(k) ?? 0) + v);
  return total;
}

/** Waits until the API servers' write counters stop moving (the traffic components settled after a deployment). */
async function quiescent(sandbox: Sandbox): Promise<Map<string, number>> {
  let last = await snapshot(sandbox);
  for (;;) {
    await new Promise((r) => setTimeout(r, 2_000));
    const now = await snapshot(sandbox);
    const moved = [...now].reduce((n, [k, v]) => n + v - (last.get(k) ?? 0), 0);
    if (moved <= 2) return now; // lease renewals only
    last = now;
  }
}

const WORKER_LOG = path.join(cacheDir(), 'bench-worker.log');

/** The production worker entry point, in a process of its own. */
function startWorkerProcess(sandbox: Sandbox): ChildProcess {
  const log = createWriteStream(WORKER_LOG);
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('../worker/main.ts', import.meta.url))], {
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: sandbox.temporalAddress,
      KUBECONFIG: sandbox.kubeconfigPath,
      BARISTA_TASK_QUEUE: 'bench',
      BARISTA_LOG_LEVEL: process.env.BENCH_WORKER_LOG ?? 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  return child;
}

async function run(): Promise<void> {
  await provisionAll(createProgress());
  say('starting sandbox (2 clusters × 2 cells)');
  const sandbox = await Sandbox.start({ progress: silentProgress, logger: createLogger('sandbox', 'warn') });
  say(`starting the Barista worker process (log: ${WORKER_LOG})`);
  const worker = startWorkerProcess(sandbox);
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  const connection = await Connection.connect({ address: sandbox.temporalAddress });
  const client = new Client({ connection });
  const releases = new ReleaseClient(client, 'bench');
  try {
    const cells = sandbox.topology.clusters.flatMap((c) => c.cells.map((cell) => cell.name));
    const spec = (image: string) => ({
      name: 'bench',
      tenant: 'acme',
      workspace: 'prod',
      template: { containers: [{ name: 'app', image }] },
      replicasPerCell: perCell,
      placement: { cells },
    });
    const pods = perCell * cells.length;
    say(`initial deployment of ${pods} pods`);
    const { revision } = await releases.upsertApp(spec('registry.local/bench:1'), 'bench');
    await releases.result(
      await releases.startRelease({
        app: 'bench',
        tenant: 'acme',
        revision,
        requestedBy: 'bench',
        strategy: { groups: 1, maxConcurrentPods: 1000 },
      }),
    );

    for (const cluster of sandbox.clusterNames) sandbox.setStartLatency(cluster, latencyMs);
    await releases.upsertApp(spec('registry.local/bench:2'), 'bench');
    say('waiting for the API servers to settle');
    const before = await quiescent(sandbox);
    const groupSize = Math.ceil(pods / groups);
    say(`release of ${pods} pods in ${groups} groups, auto gates (${windowS}s window), start latency ${latencyMs} ms`);
    const started = Date.now();
    const ref = await releases.startRelease({
      app: 'bench',
      tenant: 'acme',
      requestedBy: 'bench',
      strategy: { groups, maxConcurrentPods: groupSize, gate: { type: 'auto', windowSeconds: windowS } },
    });
    const progress = setInterval(() => {
      void releases.status(ref).then(
        (s) => say(`  ${s.state}, group ${s.currentGroup ?? '-'}, ${s.pods.filter((p) => p.state === 'done').length}/${pods} pods done`),
        () => undefined,
      );
    }, 5_000);
    const final = await releases.result(ref);
    clearInterval(progress);
    const wallMs = Date.now() - started;
    const after = await snapshot(sandbox);
    const criticalMs = groups * latencyMs + (groups - 1) * windowS * 1000;
    const history = await client.workflow.getHandle(ref.workflowId, ref.runId).fetchHistory();
    const events = history.events?.length ?? 0;
    const writes = [...after]
      .map(([k, v]) => [k, v - (before.get(k) ?? 0)] as const)
      .filter(([, v]) => v > 0)
      .sort((a, b) => b[1] - a[1]);
    const totalWrites = writes.reduce((n, [, v]) => n + v, 0);

    console.log('bench/release');
    console.log(
      `  result: ${final.state}, ${pods} pods over ${cells.length} cells in ${groups} groups, auto gates ${windowS}s, start latency ${latencyMs} ms`,
    );
    console.log(
      `  wall time: ${(wallMs / 1000).toFixed(1)} s; critical path (pod transitions + gate windows): ${(criticalMs / 1000).toFixed(1)} s`,
    );
    console.log(`  overhead ratio: ${(wallMs / criticalMs).toFixed(3)}`);
    console.log(
      `  Kubernetes write requests at the API servers: ${totalWrites} (${(totalWrites / pods).toFixed(2)} per pod, everything: Barista + simulated kubelet + controllers)`,
    );
    for (const [k, v] of writes) console.log(`    ${k.padEnd(40)} ${v}  (${(v / pods).toFixed(2)}/pod)`);
    for (const g of final.groups) {
      const ps = final.pods.filter((p) => p.group === g.index);
      const t0 = Math.min(...ps.map((p) => Date.parse(p.startedAt ?? '')));
      const t1 = Math.max(...ps.map((p) => Date.parse(p.finishedAt ?? '')));
      const slowest = Math.max(...ps.map((p) => Date.parse(p.finishedAt ?? '') - Date.parse(p.startedAt ?? '')));
      const gate = final.gates.find((x) => x.group === g.index);
      console.log(
        `    group ${g.index}: ${ps.length} pods in ${((t1 - t0) / 1000).toFixed(1)} s (slowest pod ${(slowest / 1000).toFixed(1)} s)${gate?.decidedAt ? `, gate passed ${((Date.parse(gate.decidedAt) - t1) / 1000).toFixed(1)} s after` : ''}`,
      );
    }
    console.log(`  Temporal history events: ${events} for the release (${(events / pods).toFixed(2)} per pod)`);
  } finally {
    worker.kill('SIGTERM');
    await exited;
    await connection.close();
    await sandbox.stop();
  }
}

run().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
