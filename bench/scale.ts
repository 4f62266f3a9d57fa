/**
 * bench/scale: one release of many pods (default 10,000: 2 clusters × 10 cells × 500) in 5 groups, gates passed
 * at once, small start latency. Prints wall time, pods per second, history events of the release and of its
 * largest batch child, the largest payload in any of those histories, worker CPU per pod and peak RSS, and the CPU
 * of the rest (API servers, controller managers, etcd, the bench process with the simulated kubelets).
 * Env: BENCH_CELLS_PER_CLUSTER (10), BENCH_PODS_PER_CELL (500), BENCH_LATENCY_MS (100), BENCH_GROUPS (5),
 * BENCH_MAX_CONCURRENT (200).
 */
import { benchApp, deployFirst, followRelease, historyEvents, say, startBench, countsBetween } from './harness.js';
import { cpuSecondsByCommand } from './proc.js';

/** The sandbox's own processes, by /proc command name, whose CPU the bench prints next to the worker's. */
const SUBSTRATE = ['kube-apiserver', 'kube-controller', 'etcd'] as const;

const cellsPerCluster = Number(process.env.BENCH_CELLS_PER_CLUSTER ?? 10);
const perCell = Number(process.env.BENCH_PODS_PER_CELL ?? 500);
const latencyMs = Number(process.env.BENCH_LATENCY_MS ?? 100);
const groups = Number(process.env.BENCH_GROUPS ?? 5);
const maxConcurrent = Number(process.env.BENCH_MAX_CONCURRENT ?? 200);

async function run(): Promise<void> {
  const topology = {
    clusters: [0, 1].map((c) => ({
      name: `kc${c + 1}`,
      cells: Array.from({ length: cellsPerCluster }, (_, i) => ({ name: `rz${c}${String(i).padStart(2, '0')}`, nodes: 4 })),
      startLatencyMs: 0,
    })),
  };
  const b = await startBench({ topology });
  try {
    const pods = perCell * b.cells.length;
    say(`first deployment of ${pods} pods over ${b.cells.length} cells`);
    const deployStarted = Date.now();
    await deployFirst(b, benchApp('scale', b.cells, perCell, 1));
    say(`  deployed in ${((Date.now() - deployStarted) / 1000).toFixed(0)} s`);
    for (const cluster of b.sandbox.clusterNames) b.sandbox.setStartLatency(cluster, latencyMs);
    await b.releases.upsertApp(benchApp('scale', b.cells, perCell, 2), 'bench');
    await b.quiescent();

    say(`release of ${pods} pods in ${groups} groups, ${maxConcurrent} at once, start latency ${latencyMs} ms`);
    const cpu0 = b.cpu();
    const substrate0 = cpuSecondsByCommand(SUBSTRATE);
    const bench0 = process.cpuUsage();
    const requests0 = await b.requests();
    const beats0 = await b.workerHeartbeats();
    const started = Date.now();
    const ref = await b.releases.startRelease({
      app: 'scale',
      tenant: 'acme',
      requestedBy: 'bench',
      strategy: { groups, maxConcurrentPods: maxConcurrent, gate: { type: 'manual' } },
    });
    await b.releases.promoteAll(ref, { by: 'bench', reason: 'scale bench: no gates' });
    const final = await followRelease(b, ref, pods, 'scale');
    const wallS = (Date.now() - started) / 1000;
    const cpu1 = b.cpu();
    const substrate1 = cpuSecondsByCommand(SUBSTRATE);
    const benchCpuS = cpuSince(bench0);
    const requests = countsBetween(requests0, await b.requests());
    const beats = (await b.workerHeartbeats()) - beats0;
    const history = await historyEvents(b, ref);

    console.log('bench/scale');
    console.log(
      `  ${pods} pods over ${b.cells.length} cells in ${groups} groups, ${maxConcurrent} at once, start latency ${latencyMs} ms: ${final.state}`,
    );
    console.log(`  wall time ${wallS.toFixed(1)} s, ${(pods / wallS).toFixed(1)} pods/s`);
    console.log(
      `  history events: release ${history.parent}; ${history.children.length} batch children, largest ${Math.max(...history.children)}, all together ${history.children.reduce((n, c) => n + c, 0)}`,
    );
    console.log(`  largest payload in any of these histories: ${(history.largestPayload / 1024).toFixed(1)} KiB`);
    console.log(
      `  worker CPU ${(cpu1.worker - cpu0.worker).toFixed(1)} s (${((1000 * (cpu1.worker - cpu0.worker)) / pods).toFixed(1)} ms/pod), Temporal server CPU ${(cpu1.temporal - cpu0.temporal).toFixed(1)} s (${((1000 * (cpu1.temporal - cpu0.temporal)) / pods).toFixed(1)} ms/pod), peak worker RSS ${b.peakWorkerRssMiB().toFixed(0)} MiB`,
    );
    console.log(
      `  CPU of the rest: ${SUBSTRATE.map((c) => `${c} ${(substrate1.get(c)! - substrate0.get(c)!).toFixed(1)} s`).join(', ')}, bench process (simulated kubelets, traffic components) ${benchCpuS.toFixed(1)} s`,
    );
    const perPod = (n: number) => (n / pods).toFixed(2);
    console.log(
      `  API server requests per pod, all clients: ${perPod(requests.reduce((n, [, v]) => n + v, 0))}; most: ${requests
        .slice(0, 8)
        .map(([k, v]) => `${k} ${perPod(v)}`)
        .join(', ')}`,
    );
    console.log(`  heartbeats of the pod steps to Temporal: ${beats} (${(beats / pods).toFixed(1)} per pod)`);
  } finally {
    await b.stop();
  }
}

function cpuSince(start: NodeJS.CpuUsage): number {
  const { user, system } = process.cpuUsage(start);
  return (user + system) / 1e6;
}

run().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
