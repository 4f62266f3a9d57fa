/**
 * bench/drift: drift repair over many Apps (default 1,000 Apps × 4 cells × 1 pod) with 1 % of them drifted (one pod
 * each set to another image by hand, as `kubectl set image` does). Prints the time of a run that finds and repairs
 * them, of a run over the same Apps all clean, the Kubernetes reads per App (the worker's own GET/LIST requests),
 * repairs per minute, history events, and the projected Apps per hour on one worker.
 * Env: BENCH_APPS (1000), BENCH_DRIFTED_PERCENT (1), BENCH_DEPLOY_BATCH (50).
 */
import { CoreV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { ReleaseRef } from '../api/release-client.js';
import { driftRunId, type DriftReport } from '../workflows/drift-definitions.js';
import { benchApp, say, startBench, TASK_QUEUE, type Bench } from './harness.js';

const apps = Number(process.env.BENCH_APPS ?? 1000);
const driftedPercent = Number(process.env.BENCH_DRIFTED_PERCENT ?? 1);
const deployBatch = Number(process.env.BENCH_DEPLOY_BATCH ?? 50);

/** The worker's own Kubernetes reads so far (GET, which is also how lists and watches are sent). */
async function workerReads(metricsUrl: string): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith('barista_kube_requests_total{') && l.includes('verb="GET"'))
    .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
}

async function deployAll(b: Bench, names: string[]): Promise<void> {
  for (let i = 0; i < names.length; i += deployBatch) {
    const batch = names.slice(i, i + deployBatch);
    const refs: ReleaseRef[] = await Promise.all(
      batch.map((app) => b.releases.startRelease({ app, tenant: 'acme', requestedBy: 'bench', strategy: { groups: 1 } } as never)),
    );
    const finals = await Promise.all(refs.map((r) => b.releases.result(r)));
    const failed = finals.filter((s) => s.state !== 'succeeded').length;
    say(`  deployed ${Math.min(i + deployBatch, names.length)}/${names.length} Apps${failed ? ` (${failed} did not succeed)` : ''}`);
  }
}

async function driftRun(b: Bench, label: string): Promise<{ report: DriftReport; seconds: number; events: number }> {
  const started = Date.now();
  const handle = await b.client.workflow.start('driftRepair', {
    workflowId: `${driftRunId('acme', new Date())}-${label}`,
    taskQueue: TASK_QUEUE,
    args: [{ tenant: 'acme', by: 'bench' }],
  });
  const report = (await handle.result()) as DriftReport;
  const seconds = (Date.now() - started) / 1000;
  // every run of the chain (continue-as-new) counts
  let events = 0;
  for await (const wf of b.client.workflow.list({ query: `WorkflowId = '${handle.workflowId}'` })) events += wf.historyLength;
  return { report, seconds, events };
}

async function run(): Promise<void> {
  const b = await startBench({ workerEnv: { BARISTA_DRIFT_TENANTS: 'none' } });
  try {
    const names = Array.from({ length: apps }, (_, i) => `d${String(i).padStart(4, '0')}`);
    say(`registering ${apps} Apps (${b.cells.length} cells × 1 pod) and deploying them, ${deployBatch} at a time`);
    for (const [i, name] of names.entries()) {
      await b.releases.upsertApp(benchApp(name, b.cells, 1, 1), 'bench');
      if ((i + 1) % 100 === 0) say(`  registered ${i + 1}/${names.length} Apps`);
    }
    await deployAll(b, names);
    await b.quiescent();

    const drifted = names.filter((_, i) => i % Math.max(1, Math.round(100 / driftedPercent)) === 0);
    say(`setting another image by hand on one pod of ${drifted.length} Apps`);
    const cluster = b.sandbox.clusterNames[0]!;
    const core = b.sandbox.kubeConfig(cluster).makeApiClient(CoreV1Api);
    const cell = b.sandbox.topology.clusters[0]!.cells[0]!.name;
    for (const app of drifted)
      await core.patchNamespacedPod(
        {
          name: `${app}-${cell}-0`,
          namespace: 'acme-prod',
          fieldManager: 'kubectl-set',
          body: { spec: { containers: [{ name: 'app', image: 'registry.local/bench:hand-set' }] } },
        },
        setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
      );
    await new Promise((r) => setTimeout(r, 5_000)); // the hand-set containers restart and serve again

    const metricsUrl = b.workerMetricsUrl;
    const reads0 = await workerReads(metricsUrl);
    const cpu0 = b.cpu();
    say('drift run 1: finds and repairs');
    const first = await driftRun(b, 'repair');
    const reads1 = await workerReads(metricsUrl);
    const cpu1 = b.cpu();
    say('drift run 2: every App clean');
    const second = await driftRun(b, 'clean');
    const reads2 = await workerReads(metricsUrl);
    const cpu2 = b.cpu();

    const t1 = first.report.totals;
    console.log('bench/drift');
    console.log(`  ${apps} Apps × ${b.cells.length} cells × 1 pod; ${drifted.length} Apps with one pod set to another image by hand`);
    console.log(
      `  run 1 (repairing): ${first.seconds.toFixed(1)} s; found ${t1.found}, repaired ${t1.repaired}, failed ${t1.failed}; ` +
        `${((60 * t1.repaired) / first.seconds).toFixed(1)} repairs/min; ${((reads1 - reads0) / apps).toFixed(2)} Kubernetes reads per App; ` +
        `worker CPU ${(cpu1.worker - cpu0.worker).toFixed(1)} s; ${first.events} history events`,
    );
    console.log(
      `  run 2 (clean): ${second.seconds.toFixed(1)} s; found ${second.report.totals.found}; ${((reads2 - reads1) / apps).toFixed(2)} Kubernetes reads per App; ` +
        `worker CPU ${(cpu2.worker - cpu1.worker).toFixed(1)} s; ${second.events} history events`,
    );
    console.log(
      `  projected on one worker: ${Math.round((3600 * apps) / second.seconds)} Apps/hour clean, ${Math.round((3600 * apps) / first.seconds)} Apps/hour at 1 % drift`,
    );
  } finally {
    await b.stop();
  }
}

run().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
