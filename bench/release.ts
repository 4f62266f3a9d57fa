/**
 * bench/release: the same pods (default 200: 4 cells × 50, 2 clusters) released four ways in one sandbox run,
 * with a fixed simulated container start latency:
 *   native   plain StatefulSets, RollingUpdate with maxUnavailable = one group's pods per cell, no drain, no gates
 *   off      Barista, groups of the same size, gates passed at once (promote-all), no traffic component to drain
 *   on       the same with draining (service, rpc and dns components hold every pod until they let go)
 *   gated    Barista with auto gates (verification window after each group): ratio to the critical path
 * Prints wall times, ratios, CPU seconds per pod of the worker and the Temporal server (from /proc), API-server
 * writes per pod (Barista's own and everyone's), peak worker RSS and history events. Figures, not assertions.
 * Env: BENCH_PODS_PER_CELL (50), BENCH_LATENCY_MS (2000), BENCH_WINDOW_S (2), BENCH_GROUPS (5),
 * BENCH_WORKER_LOG (warn; `info` logs each pod's step timings to bench-worker.log in the cache directory).
 */
import type { ReleaseRef } from '../api/release-client.js';
import type { ReleaseStatus } from '../workflows/release-status.js';
import { benchApp, deployFirst, followRelease, historyEvents, say, startBench, countsBetween, type Bench } from './harness.js';
import { deployNative, updateNative } from './native.js';

const perCell = Number(process.env.BENCH_PODS_PER_CELL ?? 50);
const latencyMs = Number(process.env.BENCH_LATENCY_MS ?? 2000);
const windowS = Number(process.env.BENCH_WINDOW_S ?? 2);
const groups = Number(process.env.BENCH_GROUPS ?? 5);
/** Which runs to make (all by default): native, off, on, gated. */
const selected = new Set((process.env.BENCH_RUNS ?? 'native,off,on,gated').split(','));

interface Run {
  name: string;
  wallS: number;
  pods: number;
  writes: [string, number][];
  /** Writes the worker itself sent. */
  own: number;
  /** Heartbeats the worker's pod steps sent to Temporal. */
  heartbeats: number;
  cpu: { worker: number; temporal: number };
  events?: string;
  final?: ReleaseStatus;
}

/** Measures `act` (which moves `pods` pods) from quiet API servers to its end. */
async function measure(
  b: Bench,
  name: string,
  pods: number,
  act: () => Promise<{ ref?: ReleaseRef; final?: ReleaseStatus }>,
): Promise<Run> {
  say(`${name}: waiting for the API servers to settle`);
  const before = await b.quiescent();
  const cpu0 = b.cpu();
  const own0 = await b.workerWrites();
  const beats0 = await b.workerHeartbeats();
  const started = Date.now();
  const { ref, final } = await act();
  const wallS = (Date.now() - started) / 1000;
  const cpu1 = b.cpu();
  const own = (await b.workerWrites()) - own0;
  const heartbeats = (await b.workerHeartbeats()) - beats0;
  const writes = countsBetween(before, await b.writes());
  const history = ref ? await historyEvents(b, ref) : undefined;
  const events = history
    ? `${history.parent} + ${history.children.reduce((n, c) => n + c, 0)} in ${history.children.length} batches`
    : undefined;
  say(`${name}: ${wallS.toFixed(1)} s`);
  return {
    name,
    wallS,
    pods,
    writes,
    own,
    heartbeats,
    cpu: { worker: cpu1.worker - cpu0.worker, temporal: cpu1.temporal - cpu0.temporal },
    ...(events !== undefined ? { events } : {}),
    ...(final ? { final } : {}),
  };
}

async function baristaRelease(b: Bench, app: string, pods: number, gate: 'promote-all' | 'auto') {
  const ref = await b.releases.startRelease({
    app,
    tenant: 'acme',
    requestedBy: 'bench',
    strategy: {
      groups,
      maxConcurrentPods: Math.ceil(pods / groups),
      gate: gate === 'auto' ? { type: 'auto', windowSeconds: windowS } : { type: 'manual' },
    },
  });
  if (gate === 'promote-all') await b.releases.promoteAll(ref, { by: 'bench', reason: 'no gates: compared with a plain rolling update' });
  return { ref, final: await followRelease(b, ref, pods, app) };
}

async function run(): Promise<void> {
  const b = await startBench();
  try {
    const cells = b.cells;
    const pods = perCell * cells.length;
    const perCellGroup = Math.ceil(perCell / groups);
    say(`first deployments: ${pods} native pods and ${pods} pods of each of two Apps`);
    const native = await deployNative(b.sandbox, perCell, perCellGroup);
    const plain = benchApp('plain', cells, perCell, 1);
    const drained = benchApp('drained', cells, perCell, 1, [{ name: 'service' }, { name: 'rpc' }, { name: 'dns' }]);
    await deployFirst(b, plain);
    await deployFirst(b, drained);
    for (const cluster of b.sandbox.clusterNames) b.sandbox.setStartLatency(cluster, latencyMs);

    const runs: Run[] = [];
    if (selected.has('native')) runs.push(await measure(b, 'native', pods, async () => (await updateNative(native), {})));
    if (selected.has('off')) {
      await b.releases.upsertApp(benchApp('plain', cells, perCell, 2), 'bench');
      runs.push(await measure(b, 'off', pods, () => baristaRelease(b, 'plain', pods, 'promote-all')));
    }
    if (selected.has('on')) {
      await b.releases.upsertApp(benchApp('drained', cells, perCell, 2, drained.traffic), 'bench');
      runs.push(await measure(b, 'on', pods, () => baristaRelease(b, 'drained', pods, 'promote-all')));
    }
    if (selected.has('gated')) {
      await b.releases.upsertApp(benchApp('plain', cells, perCell, 3), 'bench');
      runs.push(await measure(b, 'gated', pods, () => baristaRelease(b, 'plain', pods, 'auto')));
    }

    const nativeS = runs.find((r) => r.name === 'native')?.wallS ?? NaN;
    const criticalS = (groups * latencyMs) / 1000 + (groups - 1) * windowS;
    console.log('bench/release');
    console.log(
      `  ${pods} pods over ${cells.length} cells, ${groups} groups (${perCellGroup} pods per cell at once), start latency ${latencyMs} ms; peak worker RSS ${b.peakWorkerRssMiB().toFixed(0)} MiB`,
    );
    console.log(
      '  run      wall s  ratio              worker CPU s/pod  Temporal CPU s/pod  writes/pod (by Barista)  heartbeats/pod  history events',
    );
    for (const r of runs) {
      const ratio =
        r.name === 'native'
          ? '1 (baseline)'
          : r.name === 'gated'
            ? `${(r.wallS / criticalS).toFixed(2)} × critical path`
            : `${(r.wallS / nativeS).toFixed(2)} × native`;
      const total = r.writes.reduce((n, [, v]) => n + v, 0);
      console.log(
        `  ${r.name.padEnd(8)} ${r.wallS.toFixed(1).padStart(6)}  ${ratio.padEnd(18)} ${(r.cpu.worker / r.pods).toFixed(4).padStart(16)}  ${(r.cpu.temporal / r.pods).toFixed(4).padStart(18)}  ${(total / r.pods).toFixed(1).padStart(10)} (${(r.own / r.pods).toFixed(1)})  ${(r.heartbeats / r.pods).toFixed(1).padStart(14)}  ${r.events ?? '-'}`,
      );
    }
    console.log(`  critical path of the gated run (groups × start latency + gate windows): ${criticalS.toFixed(1)} s`);
    const gated = runs.at(-1)!;
    console.log(`  ${gated.name} run, writes at the API servers by verb and resource:`);
    for (const [k, v] of gated.writes) console.log(`    ${k.padEnd(40)} ${v}  (${(v / pods).toFixed(2)}/pod)`);
    if (gated.final?.pods.length) {
      for (const g of gated.final.groups) {
        const ps = gated.final.pods.filter((p) => p.group === g.index);
        const t0 = Math.min(...ps.map((p) => Date.parse(p.startedAt ?? '')));
        const t1 = Math.max(...ps.map((p) => Date.parse(p.finishedAt ?? '')));
        const gate = gated.final.gates.find((x) => x.group === g.index);
        console.log(
          `    group ${g.index}: ${ps.length} pods in ${((t1 - t0) / 1000).toFixed(1)} s${gate?.decidedAt ? `, gate passed ${((Date.parse(gate.decidedAt) - t1) / 1000).toFixed(1)} s after` : ''}`,
        );
      }
    }
  } finally {
    await b.stop();
  }
}

run().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
