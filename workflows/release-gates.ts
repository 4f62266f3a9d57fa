import { ActivityFailure, condition } from '@temporalio/workflow';
import { autoGateTimeoutSeconds, type PlannedGroup, type ReleasePlan } from '../domain/index.js';
import { agentQueueOf } from '../domain/cluster-queues.js';
import type { AwaitGroupStableInput } from '../activities/types.js';
import { waits } from './activity-proxies.js';
import { forCluster } from './cluster-routing.js';
import { runChecksRound, type ChecksVerdict } from './release-checks.js';
import { releaseMetrics } from './release-sinks.js';
import type { ReleaseTracker } from './release-state.js';

/** Runs the gate after `group` and reports how long it held the release (barista_gate_wait_seconds). */
export async function runGate(t: ReleaseTracker, plan: ReleasePlan, group: PlannedGroup): Promise<void> {
  const gate = t.gate(group.index);
  if (!gate) return;
  const promotedBefore = t.promoteAll !== undefined;
  const since = Date.now(); // workflow time: deterministic on replay
  await awaitGateDecision(t, plan, group);
  if (promotedBefore) return; // passed by an earlier promote-all: it held nothing
  releaseMetrics.gateWaited({
    tenant: plan.app.tenant,
    app: plan.app.name,
    gate: gate.type,
    outcome: gate.state === 'waiting' || gate.state === 'pending' ? 'stopped' : gate.state,
    seconds: (Date.now() - since) / 1000,
  });
}

/**
 * Waits for the gate after `group`: manual (approve signal), auto (verification window of the group's pods)
 * or timed (a pause). A gate that times out or fails pauses the release with the reason, or requests a
 * rollback when the strategy says so. promote-all passes every remaining gate.
 */
async function awaitGateDecision(t: ReleaseTracker, plan: ReleasePlan, group: PlannedGroup): Promise<void> {
  const gate = t.gate(group.index)!;
  const spec = plan.strategy.gate;
  const decided = (state: 'passed' | 'failed' | 'skipped', by: string, reason?: string) => {
    Object.assign(gate, { state, decidedBy: by, decidedAt: new Date().toISOString(), ...(reason ? { reason } : {}) });
    t.record(by, `gate-${state}`, `group ${group.index}${reason ? `: ${reason}` : ''}`);
  };
  const passedByOperator = () => t.approvals.has(group.index) || t.promoteAll !== undefined;
  const operatorDecision = () => {
    const approval = t.approvals.get(group.index);
    if (approval) decided('passed', approval.by, approval.reason ?? 'approved');
    else decided('skipped', t.promoteAll?.by ?? 'unknown', 'promote-all');
  };
  if (t.promoteAll) return operatorDecision();
  gate.state = 'waiting';
  const waitFrom = (seconds: number | undefined) => {
    gate.since = new Date().toISOString(); // workflow time: deterministic
    if (seconds !== undefined) gate.until = new Date(Date.now() + seconds * 1000).toISOString();
  };
  const operatorPassedOrStopped = () => passedByOperator() || t.stopRequested;

  if (spec.type === 'manual') {
    if (spec.checks) {
      // verification first: a person is asked only about a group the checks found healthy
      let summary = '';
      const verified = await verifyUntilDecided(t, plan, group, async () => {
        const verdict = await runChecksRound(t, plan, group, gate, spec.checks!, operatorPassedOrStopped);
        if (verdict.outcome === 'passed') summary = verdict.summary;
        return verdict.outcome === 'passed' ? undefined : verdict;
      });
      if (verified === 'operator') return operatorDecision();
      if (verified !== 'passed') return;
      t.record('barista', 'checks-passed', `group ${group.index}: ${summary}; asking for approval`);
      gate.state = 'waiting';
    }
    t.phase('waiting-approval');
    waitFrom(spec.timeoutSeconds);
    const timeoutMs = spec.timeoutSeconds ? spec.timeoutSeconds * 1000 : undefined;
    const inTime =
      timeoutMs === undefined ? (await condition(operatorPassedOrStopped), true) : await condition(operatorPassedOrStopped, timeoutMs);
    if (!inTime) {
      t.pause({
        reason: `manual gate after group ${group.index} was not approved within ${spec.timeoutSeconds}s`,
        step: 'gate',
        by: 'barista',
      });
      await condition(operatorPassedOrStopped);
    }
    if (t.stopRequested) return;
    if (t.paused?.step === 'gate') t.resume();
    return operatorDecision();
  }

  if (spec.type === 'timed') {
    t.phase('running');
    waitFrom(spec.seconds);
    await condition(() => t.promoteAll !== undefined || t.approvals.has(group.index) || t.stopRequested, spec.seconds * 1000);
    if (t.stopRequested) return;
    return passedByOperator() ? operatorDecision() : decided('passed', 'barista', `waited ${spec.seconds}s`);
  }

  // auto: all pods of the group Ready with no restarts for the window, then the checks; retried on resume, or passed by approve
  const timeoutSeconds = autoGateTimeoutSeconds(spec);
  let summary = '';
  const verified = await verifyUntilDecided(t, plan, group, async () => {
    waitFrom(spec.windowSeconds);
    try {
      await awaitGroupStable(t, timeoutSeconds, {
        app: plan.app.name,
        namespace: plan.app.namespace,
        pods: group.pods.map((p) => ({ cluster: plan.cells.find((c) => c.cell === p.cell)!.cluster, name: p.name })),
        windowSeconds: spec.windowSeconds,
        timeoutSeconds,
      });
    } catch (err) {
      return { outcome: 'failed', reason: (err instanceof ActivityFailure ? err.cause?.message : undefined) ?? String(err) };
    }
    if (!spec.checks) return undefined;
    const verdict = await runChecksRound(t, plan, group, gate, spec.checks, operatorPassedOrStopped);
    if (verdict.outcome === 'passed') summary = `; checks passed: ${verdict.summary}`;
    return verdict.outcome === 'passed' ? undefined : verdict;
  });
  if (verified === 'passed') return decided('passed', 'barista', `group stable for ${spec.windowSeconds}s${summary}`);
  if (verified === 'operator') return operatorDecision();
}

type VerificationFailure = Exclude<ChecksVerdict, { outcome: 'passed' }> | { outcome: 'failed'; reason: string; check?: undefined };

/**
 * Verifies the group until it passes. A failure applies onFailure (a rollback, when there is a revision to roll
 * back to) or pauses with the reason; an inconclusive result always pauses, never passes. On resume it verifies
 * again; an approval or promote-all passes the gate (`operator`); an abort or rollback request ends it (`stopped`).
 */
async function verifyUntilDecided(
  t: ReleaseTracker,
  plan: ReleasePlan,
  group: PlannedGroup,
  verify: () => Promise<VerificationFailure | undefined>,
): Promise<'passed' | 'operator' | 'stopped' | 'rollback'> {
  const gate = t.gate(group.index)!;
  const passedByOperator = () => t.approvals.has(group.index) || t.promoteAll !== undefined;
  for (;;) {
    t.phase('verifying');
    const failure = await verify();
    if (failure === undefined) return 'passed';
    if (t.stopRequested) return 'stopped';
    if (failure.outcome === 'interrupted') return passedByOperator() ? 'operator' : 'stopped';
    const { reason, check } = failure;
    Object.assign(gate, { state: 'failed', reason });
    t.record('barista', failure.outcome === 'inconclusive' ? 'gate-inconclusive' : 'gate-failed', `group ${group.index}: ${reason}`);
    const verdict = `verification of group ${group.index} ${failure.outcome === 'inconclusive' ? 'was inconclusive' : 'failed'}: ${reason}`;
    if (failure.outcome === 'failed' && plan.strategy.onFailure === 'rollback' && plan.from) {
      t.rollbackRequested = { by: 'barista', reason: verdict };
      return 'rollback';
    }
    t.pause({ reason: verdict, step: 'gate', by: 'barista', ...(check ? { check } : {}) });
    const resumes = t.resumeCount;
    await condition(() => t.resumeCount > resumes || passedByOperator() || t.stopRequested);
    if (t.stopRequested) return 'stopped';
    if (passedByOperator()) {
      if (t.paused?.step === 'gate') t.resume();
      return 'operator';
    }
  }
}

/**
 * The group's stability, watched where its pods are: one wait on the central queue for the pods of direct
 * clusters, as before, and one on each agent's queue for the pods of its cluster, all at once (each must pass).
 * A release without agent-served clusters in the group makes the one call it always made.
 */
async function awaitGroupStable(t: ReleaseTracker, timeoutSeconds: number, input: AwaitGroupStableInput): Promise<void> {
  const agentServed = [...new Set(input.pods.map((p) => p.cluster))].filter((c) => agentQueueOf(t.routes, c) !== undefined).sort();
  if (agentServed.length === 0) {
    await waits(timeoutSeconds).awaitGroupStable(input);
    return;
  }
  const direct = input.pods.filter((p) => !agentServed.includes(p.cluster));
  await Promise.all([
    ...(direct.length ? [waits(timeoutSeconds).awaitGroupStable({ ...input, pods: direct })] : []),
    ...agentServed.map((cluster) =>
      forCluster(t.routes, cluster)
        .waits(timeoutSeconds)
        .awaitGroupStable({ ...input, pods: input.pods.filter((p) => p.cluster === cluster) }),
    ),
  ]);
}
