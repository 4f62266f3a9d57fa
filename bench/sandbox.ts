/**
 * bench/sandbox: prints provisioning time on a cold cache (BENCH_COLD=1 wipes the binaries first and
 * rebuilds them; the Go module and build caches are left alone unless BENCH_COLD_GO=1), warm start time of
 * a 2-cluster sandbox, and the resident memory of all its processes. Figures, not assertions.
 */
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { provisionAll } from '../sandbox/provision/index.js';
import { kubeBinDir, prometheusBinDir, temporalVenvDir } from '../sandbox/paths.js';
import { createProgress, silentProgress } from '../sandbox/progress.js';
import { Sandbox } from '../sandbox/sandbox.js';

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function rssKiB(pid: number): number {
  // the watchdog's children: sum the whole process group
  let total = 0;
  for (const line of spawnSync('ps', ['-o', 'rss=', '-g', String(pid)], { encoding: 'utf8' }).stdout.split('\n'))
    total += Number(line.trim() || 0);
  return total;
}

async function run(): Promise<void> {
  const progress = createProgress();
  if (process.env.BENCH_COLD === '1') {
    await rm(kubeBinDir(), { recursive: true, force: true });
    await rm(temporalVenvDir(), { recursive: true, force: true });
    await rm(prometheusBinDir(), { recursive: true, force: true });
    if (process.env.BENCH_COLD_GO === '1') spawnSync('go', ['clean', '-cache', '-modcache'], { stdio: 'inherit' });
  }
  const p0 = Date.now();
  await provisionAll(progress);
  const provisionMs = Date.now() - p0;

  const s0 = Date.now();
  const sandbox = await Sandbox.start({ progress: silentProgress });
  const startMs = Date.now() - s0;
  await new Promise((r) => setTimeout(r, 5_000)); // let controllers settle before measuring memory
  const perProcess = sandbox
    .pids()
    .map((pid) => ({ pid, cmd: readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[2] ?? '?', rss: rssKiB(pid) }));
  const ours = process.memoryUsage().rss / 1024;
  await sandbox.stop();

  const totalMiB = (perProcess.reduce((a, p) => a + p.rss, 0) + ours) / 1024;
  console.log('bench/sandbox');
  console.log(`  provisioning (${process.env.BENCH_COLD === '1' ? 'cold binaries' : 'warm cache'}): ${seconds(provisionMs)}`);
  console.log(`  sandbox start, 2 clusters × 2 cells, warm cache: ${seconds(startMs)}`);
  for (const p of perProcess) console.log(`    ${p.cmd.split('/').pop()?.padEnd(28)} ${(p.rss / 1024).toFixed(0)} MiB`);
  console.log(`    ${'node (kubelets, control)'.padEnd(28)} ${(ours / 1024).toFixed(0)} MiB`);
  console.log(`  memory of the whole sandbox (RSS): ${totalMiB.toFixed(0)} MiB`);
}

run().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
