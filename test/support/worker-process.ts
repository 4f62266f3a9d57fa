import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import protos from '@temporalio/proto';
import { eventually, type TestSandbox } from './sandbox.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * The real worker entry point (worker/main.ts) as a process of its own, on the sandbox, with the audit store: it
 * can be killed like in production. One process (node --import tsx), so that SIGKILL kills the worker itself and
 * not a wrapper. No drift Schedules (they would run on this task queue).
 */
export function startWorkerProcess(sandbox: TestSandbox, taskQueue: string): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', path.join(root, 'worker', 'main.ts')], {
    cwd: root,
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: sandbox.info.temporalAddress,
      TEMPORAL_NAMESPACE: sandbox.info.temporalNamespace,
      BARISTA_TASK_QUEUE: taskQueue,
      KUBECONFIG: sandbox.info.kubeconfig,
      ...(sandbox.info.auditDatabaseUrl ? { BARISTA_AUDIT_DATABASE_URL: sandbox.info.auditDatabaseUrl } : {}),
      ...(sandbox.info.prometheusUrl ? { BARISTA_PROMETHEUS_URL: sandbox.info.prometheusUrl } : {}),
      BARISTA_DRIFT_TENANTS: 'none',
      BARISTA_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

/** SIGKILL, and the process gone. */
export async function killHard(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

/**
 * SIGTERM, as an orchestrator stops a process: a worker lets go of its Leases (the next test file's gate keepers take
 * over at once rather than after the Lease runs out), `npm start` stops its sandbox. SIGKILL if it has not ended
 * after `graceMs`.
 */
export async function stopGracefully(child: ChildProcess, graceMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/**
 * Until a worker polls `taskQueue` for workflow and activity tasks: a worker process takes a while to start (it
 * bundles the workflows), longer than an API call's own deadline on a busy machine.
 */
export async function untilPolling(client: Client, taskQueue: string, timeoutMs = 120_000): Promise<void> {
  const { TASK_QUEUE_TYPE_WORKFLOW, TASK_QUEUE_TYPE_ACTIVITY } = protos.temporal.api.enums.v1.TaskQueueType;
  await eventually(
    `a worker polling ${taskQueue}`,
    async () => {
      const polled = await Promise.all(
        [TASK_QUEUE_TYPE_WORKFLOW, TASK_QUEUE_TYPE_ACTIVITY].map(async (taskQueueType) => {
          const d = await client.workflowService.describeTaskQueue({
            namespace: client.options.namespace,
            taskQueue: { name: taskQueue },
            taskQueueType,
          });
          return (d.pollers?.length ?? 0) > 0;
        }),
      );
      return polled.every(Boolean) ? true : undefined;
    },
    timeoutMs,
  );
}
