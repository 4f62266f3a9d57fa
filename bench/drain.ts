/**
 * bench/drain: the same release (2 cells × 3 pods, in place, under 500 req/s) with the drain protocol and
 * with draining turned off. Prints requests sent and lost for each, and the time per pod that draining
 * adds (mean pod step duration with minus without). Figures, not assertions.
 */
import { Client, Connection } from '@temporalio/client';
import { ReleaseClient } from '../api/release-client.js';
import { createLogger } from '../sandbox/logger.js';
import { createProgress, silentProgress } from '../sandbox/progress.js';
import { provisionAll } from '../sandbox/provision/index.js';
import { Sandbox } from '../sandbox/sandbox.js';
import { TrafficGenerator } from '../sandbox/traffic/generator.js';
import { startGateKeepers } from '../worker/gate-keeper.js';
import { createWorker } from '../worker/worker.js';
import type { ReleaseStatus } from '../workflows/release-status.js';

const rate = Number(process.env.BENCH_RPS ?? 500);
const say = (line: string) => process.stderr.write(`[bench] ${line}\n`);

async function run(): Promise<void> {
  await provisionAll(createProgress());
  const sandbox = await Sandbox.start({
    progress: silentProgress,
    logger: createLogger('sandbox', 'warn'),
    requestMetrics: { requestsPerSecondPerPod: 0 }, // the bench sends its own traffic
  });
  const connection = await Connection.connect({ address: sandbox.temporalAddress });
  const client = new Client({ connection });
  const keepers = await startGateKeepers(sandbox.kubeconfigPath, createLogger('gate-keeper', 'warn'));
  const rows: string[] = [];
  const meanPodSeconds: Record<string, number> = {};
  try {
    for (const drain of [true, false]) {
      const queue = drain ? 'bench-drain' : 'bench-nodrain';
      const {
        worker,
        connection: native,
        stopAfterRun,
      } = await createWorker({
        temporalAddress: sandbox.temporalAddress,
        taskQueue: queue,
        kubeconfig: sandbox.kubeconfigPath,
        logger: createLogger('worker', 'warn'),
        skipDrainForTests: !drain,
      });
      const running = worker.run();
      const releases = new ReleaseClient(client, queue);
      const app = drain ? 'drained' : 'undrained';
      const spec = (image: string) => ({
        name: app,
        tenant: 'acme',
        workspace: 'prod',
        template: { containers: [{ name: 'app', image }] },
        replicasPerCell: 3,
        placement: { cells: ['rz00a', 'rz00b'] },
        traffic: [{ name: 'service' }, { name: 'rpc' }, { name: 'dns' }],
      });
      const { revision } = await releases.upsertApp(spec('registry.local/d:1'), 'bench');
      await releases.result(await releases.startRelease({ app, tenant: 'acme', revision, requestedBy: 'bench', strategy: { groups: 1 } }));
      await releases.upsertApp(spec('registry.local/d:2'), 'bench');
      const generator = new TrafficGenerator({
        kubeconfig: sandbox.kubeconfigPath,
        clusters: ['kc1'],
        namespace: 'acme-prod',
        selector: `barista.dev/app=${app}`,
        requestsPerSecond: rate,
        maxDurationMs: 300_000,
      });
      await generator.start();
      say(`release with draining ${drain ? 'on' : 'off'} under ${rate} req/s`);
      const status: ReleaseStatus = await releases.result(
        await releases.startRelease({
          app,
          tenant: 'acme',
          requestedBy: 'bench',
          strategy: { groups: 2, maxConcurrentPods: 2, gate: { type: 'timed', seconds: 1 } },
        }),
      );
      const stats = await generator.stop();
      const durations = status.pods.map((p) => Date.parse(p.finishedAt ?? '') - Date.parse(p.startedAt ?? ''));
      meanPodSeconds[String(drain)] = durations.reduce((a, b) => a + b, 0) / durations.length / 1000;
      rows.push(
        `  draining ${drain ? 'on ' : 'off'}: sent ${stats.sent}, lost ${stats.lost} (${((100 * stats.lost) / Math.max(1, stats.sent)).toFixed(2)}%), mean pod step ${meanPodSeconds[String(drain)]!.toFixed(2)} s`,
      );
      worker.shutdown();
      await running;
      await stopAfterRun();
      await native.close();
    }
    console.log('bench/drain (6 pods over 2 cells, service + rpc 1.5 s + dns 2 s deregistration, start latency 300 ms)');
    for (const row of rows) console.log(row);
    console.log(`  time per pod added by draining: ${(meanPodSeconds['true']! - meanPodSeconds['false']!).toFixed(2)} s`);
  } finally {
    await keepers.stop();
    await connection.close();
    await sandbox.stop();
  }
}

run().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
