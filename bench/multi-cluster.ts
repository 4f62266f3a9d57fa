/**
 * bench/multi-cluster: a disaster-mode release over 3 clusters that loses one mid-release (its API server frozen,
 * as a lost room looks), then a catch-up once it is back. Prints the time from the freeze to the cluster being
 * skipped (the ledger's entry), the release's wall time, the catch-up's wall time, and, for a release with an
 * unavailability budget, the most unavailable pods an independent watcher of every cluster saw vs the budget.
 * Env: BENCH_PODS_PER_CELL (6), BENCH_LATENCY_MS (1000), BENCH_BUDGET (3).
 */
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { benchApp, deployFirst, say, startBench, type Bench } from './harness.js';

const perCell = Number(process.env.BENCH_PODS_PER_CELL ?? 6);
const latencyMs = Number(process.env.BENCH_LATENCY_MS ?? 1000);
const budget = Number(process.env.BENCH_BUDGET ?? 3);
const LOST = 'kc3';

async function run(): Promise<void> {
  const topology = {
    clusters: [0, 1, 2].map((c) => ({
      name: `kc${c + 1}`,
      cells: [0, 1].map((i) => ({ name: `rz${c}${i}`, nodes: 2 })),
      startLatencyMs: latencyMs,
    })),
  };
  const b = await startBench({ topology });
  try {
    const pods = perCell * b.cells.length;
    say(`first deployment of ${pods} pods over ${b.cells.length} cells in 3 clusters`);
    await deployFirst(b, benchApp('mc', b.cells, perCell, 1, [{ name: 'rpc' }]));
    await b.releases.upsertApp(benchApp('mc', b.cells, perCell, 2, [{ name: 'rpc' }]), 'bench');

    say(`disaster-mode release, ${LOST} frozen once its first pod is drained`);
    const started = Date.now();
    const ref = await b.releases.startRelease({
      app: 'mc',
      tenant: 'acme',
      requestedBy: 'bench',
      mode: 'disaster',
      strategy: { groups: 2, maxConcurrentPods: 6, gate: { type: 'manual' } },
    });
    await b.releases.promoteAll(ref, { by: 'bench', reason: 'no gates in this bench' });
    await until(async () => (await pods_(b, LOST)).some((p) => gateOf(p) === 'False'), 120_000);
    b.sandbox.freezeCluster(LOST);
    const frozenAt = Date.now();
    let skippedAt: number | undefined;
    const final = await followUntilEnd(b, ref, (s) => {
      if (!skippedAt && s.ledger?.some((e) => e.cluster === LOST)) skippedAt = Date.now();
    });
    const releaseS = (Date.now() - started) / 1000;
    b.sandbox.thawCluster(LOST);
    await until(
      async () =>
        await pods_(b, LOST)
          .then(() => true)
          .catch(() => false),
      60_000,
    );

    say('catch-up of the ledger');
    const catchUpStarted = Date.now();
    const caught = await b.releases.result(
      await b.releases.catchUp(ref, { requestedBy: 'bench', strategy: { groups: 1, maxConcurrentPods: 6 } }),
    );
    const catchUpS = (Date.now() - catchUpStarted) / 1000;

    say(`release with maxUnavailable ${budget} over all ${pods} pods, watched from outside`);
    await b.releases.upsertApp(benchApp('mc', b.cells, perCell, 3, [{ name: 'rpc' }]), 'bench');
    let most = 0;
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const all = (await Promise.all(b.sandbox.clusterNames.map((c) => pods_(b, c)))).flat();
        const up = all.filter((p) => !p.metadata?.deletionTimestamp && ready(p) && gateOf(p) === 'True').length;
        most = Math.max(most, pods - up);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const budgeted = await b.releases.result(
      await b.releases.startRelease({
        app: 'mc',
        tenant: 'acme',
        requestedBy: 'bench',
        strategy: { groups: 1, maxConcurrentPods: 20, maxUnavailable: budget },
      }),
    );
    watching = false;
    await watcher;

    console.log('bench/multi-cluster');
    console.log(`  ${pods} pods over ${b.cells.length} cells in 3 clusters, ${latencyMs} ms start latency`);
    console.log(
      `  disaster-mode release: ${final.state}; ${LOST} frozen mid-release, skipped ${skippedAt ? ((skippedAt - frozenAt) / 1000).toFixed(1) : '?'} s later (ledger: ${final.ledger?.map((e) => `${e.cell} mid-step ${e.midStep.length}`).join(', ')}); release wall time ${releaseS.toFixed(1)} s`,
    );
    console.log(`  catch-up of the ledger: ${caught.state} in ${catchUpS.toFixed(1)} s (${caught.pods.length} pods)`);
    console.log(`  release with maxUnavailable ${budget}: ${budgeted.state}; most unavailable seen by an outside watcher: ${most}`);
  } finally {
    await b.stop();
  }
}

const ready = (p: V1Pod) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
const gateOf = (p: V1Pod) => p.status?.conditions?.find((c) => c.type === 'barista.dev/traffic-ready')?.status;

async function pods_(b: Bench, cluster: string): Promise<V1Pod[]> {
  const core = b.sandbox.kubeConfig(cluster).makeApiClient(CoreV1Api);
  return (await core.listNamespacedPod({ namespace: 'acme-prod', labelSelector: 'barista.dev/app=mc' })).items;
}

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function followUntilEnd(
  b: Bench,
  ref: { workflowId: string; runId: string },
  each: (s: Awaited<ReturnType<Bench['releases']['status']>>) => void,
) {
  for (;;) {
    const s = await b.releases.status(ref, { detail: 'summary' });
    each(s);
    if (['succeeded', 'succeeded-with-skips', 'failed', 'aborted', 'rolled-back'].includes(s.state)) return s;
    if (s.state === 'paused') throw new Error(`release paused: ${s.paused?.reason}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

run().catch((err: unknown) => {
  process.stderr.write(`bench/multi-cluster failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
