/**
 * bench/concurrency: many Apps (default 200 × 8 pods: 2 pods in each of 4 cells) released at once on one worker.
 * Prints how many succeeded, pods per second, p50/p99 time from a release's start to its first pod changing,
 * worker CPU and RSS (sampled: flat or growing), and the activity task queue's largest backlog.
 * Env: BENCH_APPS (200), BENCH_PODS_PER_CELL (2), BENCH_LATENCY_MS (300).
 */
import protos from '@temporalio/proto';
import type { ReleaseRef } from '../api/release-client.js';
import { benchApp, say, startBench, TASK_QUEUE, type Bench } from './harness.js';
import { rssMiB } from './proc.js';

const apps = Number(process.env.BENCH_APPS ?? 200);
const perCell = Number(process.env.BENCH_PODS_PER_CELL ?? 2);
const latencyMs = Number(process.env.BENCH_LATENCY_MS ?? 300);

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;

/** Starts a release of every App at once and waits for all; returns each one's final status. */
async function releaseAll(b: Bench, names: string[], strategy: object) {
  const refs: ReleaseRef[] = await Promise.all(
    names.map((app) => b.releases.startRelease({ app, tenant: 'acme', requestedBy: 'bench', strategy } as never)),
  );
  let done = 0;
  const progress = setInterval(() => say(`  ${done}/${names.length} releases ended`), 5_000);
  try {
    return await Promise.all(
      refs.map(async (ref) => {
        const final = await b.releases.result(ref);
        done++;
        return final;
      }),
    );
  } finally {
    clearInterval(progress);
  }
}

async function activityBacklog(b: Bench): Promise<number> {
  const res = await b.client.workflowService.describeTaskQueue({
    namespace: 'default',
    taskQueue: { name: TASK_QUEUE },
    taskQueueType: protos.temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
    reportStats: true,
  });
  return Number(res.stats?.approximateBacklogCount ?? 0);
}

async function run(): Promise<void> {
  const b = await startBench();
  try {
    const names = Array.from({ length: apps }, (_, i) => `c${String(i).padStart(3, '0')}`);
    const pods = apps * perCell * b.cells.length;
    say(`registering ${apps} Apps and deploying their ${pods} pods`);
    for (const name of names) await b.releases.upsertApp(benchApp(name, b.cells, perCell, 1), 'bench');
    const first = await releaseAll(b, names, { groups: 1 });
    say(`  first deployments: ${first.filter((s) => s.state === 'succeeded').length}/${apps} succeeded`);
    for (const cluster of b.sandbox.clusterNames) b.sandbox.setStartLatency(cluster, latencyMs);
    for (const name of names) await b.releases.upsertApp(benchApp(name, b.cells, perCell, 2), 'bench');
    await b.quiescent();

    say(`${apps} releases of ${perCell * b.cells.length} pods each, at once (start latency ${latencyMs} ms)`);
    const samples: { rss: number; backlog: number }[] = [];
    const sampler = setInterval(() => {
      void activityBacklog(b).then(
        (backlog) => samples.push({ rss: rssMiB(b.workerPid), backlog }),
        () => samples.push({ rss: rssMiB(b.workerPid), backlog: NaN }),
      );
    }, 1_000);
    const cpu0 = b.cpu();
    const started = Date.now();
    const finals = await releaseAll(b, names, { groups: 2, gate: { type: 'timed', seconds: 1 } });
    const wallS = (Date.now() - started) / 1000;
    clearInterval(sampler);
    const cpu1 = b.cpu();
    const succeeded = finals.filter((s) => s.state === 'succeeded').length;
    const failedSteps = finals.reduce((n, s) => n + s.audit.filter((a) => a.action === 'pod-failed').length, 0);
    const toFirstPod = finals
      .map((s) => Math.min(...s.pods.map((p) => Date.parse(p.startedAt ?? ''))) - Date.parse(s.startedAt))
      .filter(Number.isFinite)
      .sort((a, c) => a - c);
    const rss = samples.map((s) => s.rss);
    const third = Math.max(1, Math.floor(rss.length / 3));
    const avg = (xs: number[]) => xs.reduce((a, c) => a + c, 0) / Math.max(1, xs.length);

    console.log('bench/concurrency');
    console.log(
      `  ${apps} Apps × ${perCell * b.cells.length} pods released at once on one worker: ${succeeded}/${apps} succeeded, ${failedSteps} failed pod steps`,
    );
    console.log(`  wall time ${wallS.toFixed(1)} s, ${(pods / wallS).toFixed(1)} pods/s`);
    console.log(
      `  start → first pod changing: p50 ${(quantile(toFirstPod, 0.5) / 1000).toFixed(2)} s, p99 ${(quantile(toFirstPod, 0.99) / 1000).toFixed(2)} s`,
    );
    console.log(
      `  worker CPU ${(cpu1.worker - cpu0.worker).toFixed(1)} s (${((1000 * (cpu1.worker - cpu0.worker)) / pods).toFixed(1)} ms/pod), Temporal server CPU ${(cpu1.temporal - cpu0.temporal).toFixed(1)} s`,
    );
    console.log(
      `  worker RSS: first third of the run ${avg(rss.slice(0, third)).toFixed(0)} MiB, last third ${avg(rss.slice(-third)).toFixed(0)} MiB, peak ${b.peakWorkerRssMiB().toFixed(0)} MiB`,
    );
    console.log(`  activity task queue backlog: max ${Math.max(0, ...samples.map((s) => s.backlog).filter(Number.isFinite))}`);
  } finally {
    await b.stop();
  }
}

run().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
