import { ActivityFailure, condition, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import {
  checkState,
  describeCheckEnd,
  type Check,
  type CheckContext,
  type Measurement,
  type PlannedGroup,
  type ReleasePlan,
} from '../domain/index.js';
import type { ReleaseTracker } from './release-state.js';
import type { CheckStatus, GateStatus, PauseReason } from './release-status.js';

/** How a round of checks ended: passed, or the first check that failed or was inconclusive (with its pause details). */
export type ChecksVerdict =
  | { outcome: 'passed'; summary: string }
  | { outcome: 'failed' | 'inconclusive'; reason: string; check: NonNullable<PauseReason['check']> }
  | { outcome: 'interrupted' };

/**
 * One measurement is a read: retried a few times (a worker lost mid-request), then the round records it as
 * inconclusive. Its deadline covers the slowest check's attempts (a webhook's timeout × attempts).
 */
function measuring(checks: Check[]) {
  const longest = Math.max(...checks.map((c) => (c.type === 'webhook' ? c.timeoutSeconds * (c.retries + 1) + c.retries * 3 : 30)));
  return proxyActivities<Activities>({
    startToCloseTimeout: `${Math.ceil(longest) + 15}s`,
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '5s', maximumAttempts: 3 },
  });
}

function contextOf(plan: ReleasePlan, group: PlannedGroup): CheckContext {
  return {
    tenant: plan.app.tenant,
    app: plan.app.name,
    namespace: plan.app.namespace,
    revision: plan.to.number,
    ...(plan.from ? { previousRevision: plan.from.number } : {}),
    group: group.index,
    cells: [...new Set(group.pods.map((p) => p.cell))].sort(),
    pods: group.pods.map((p) => p.name),
    releaseId: workflowInfo().workflowId,
  };
}

/**
 * Runs every check of the gate after `group` side by side, each measuring `count` times `intervalSeconds` apart
 * (durable timers: no worker slot is held between measurements). Each measurement goes into the gate's status
 * and the audit trail. The first check to fail or turn inconclusive ends the round; the others stop at their next
 * interval. `interrupted`: an operator passed the gate or stopped the release meanwhile.
 */
export async function runChecksRound(
  t: ReleaseTracker,
  plan: ReleasePlan,
  group: PlannedGroup,
  gate: GateStatus,
  checks: Check[],
  interrupted: () => boolean,
): Promise<ChecksVerdict> {
  const { measureCheck } = measuring(checks);
  const context = contextOf(plan, group);
  const round = (gate.checks?.[0]?.round ?? 0) + 1;
  const statuses: CheckStatus[] = checks.map((c) => ({ name: c.name, type: c.type, state: 'running', round, measurements: [] }));
  gate.checks = statuses;
  let ended: Exclude<ChecksVerdict, { outcome: 'passed' | 'interrupted' }> | undefined;
  const stop = () => ended !== undefined || interrupted();

  await Promise.all(
    checks.map(async (check, i) => {
      const status = statuses[i]!;
      for (let n = 0; n < check.count; n++) {
        const delayMs = (n === 0 ? check.initialDelaySeconds : check.intervalSeconds) * 1000;
        if (delayMs > 0) await condition(stop, delayMs);
        if (stop()) return;
        const measurement = await measureOnce(measureCheck, check, context);
        status.measurements.push(measurement);
        t.record(
          'barista',
          'check-measured',
          `group ${group.index} ${check.type} check "${check.name}" #${n + 1}: ${measurement.decision}${measurement.value !== undefined ? ` (${measurement.value})` : ''}${measurement.reason ? `: ${measurement.reason}` : ''}`,
        );
        status.state = checkState(check, status.measurements);
        if (status.state === 'running') continue;
        if (status.state !== 'passed' && !ended) ended = verdictOf(check, status);
        return;
      }
    }),
  );
  if (ended) return ended;
  if (interrupted()) return { outcome: 'interrupted' };
  return {
    outcome: 'passed',
    summary: statuses.map((s) => `"${s.name}" ${s.measurements.length}/${s.measurements.length} passed`).join(', '),
  };
}

async function measureOnce(measureCheck: Activities['measureCheck'], check: Check, context: CheckContext): Promise<Measurement> {
  try {
    return await measureCheck({ check, context });
  } catch (err) {
    // the activity reports the monitoring system's problems itself; this is a worker or timeout failure
    const reason = (err instanceof ActivityFailure ? err.cause?.message : undefined) ?? String(err);
    return { at: new Date().toISOString(), decision: 'inconclusive', reason: `measurement failed: ${reason}` };
  }
}

function verdictOf(check: Check, status: CheckStatus): Exclude<ChecksVerdict, { outcome: 'passed' | 'interrupted' }> {
  const outcome = status.state === 'failed' ? 'failed' : 'inconclusive';
  const last = [...status.measurements].reverse().find((m) => m.decision !== 'pass');
  return {
    outcome,
    reason: describeCheckEnd(check, status.state, status.measurements),
    check: {
      name: check.name,
      type: check.type,
      state: status.state,
      ...(check.type === 'prometheus' ? { query: check.query } : {}),
      ...(last?.value !== undefined ? { value: last.value } : {}),
      ...(last?.reason !== undefined ? { reason: last.reason } : {}),
    },
  };
}
