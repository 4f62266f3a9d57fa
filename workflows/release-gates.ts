import { ActivityFailure, condition } from '@temporalio/workflow';
import type { PlannedGroup, ReleasePlan } from '../domain/index.js';
import { waits } from './activity-proxies.js';
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

  if (spec.type === 'manual') {
    t.phase('waiting-approval');
    const timeoutMs = spec.timeoutSeconds ? spec.timeoutSeconds * 1000 : undefined;
    const inTime =
      timeoutMs === undefined
        ? (await condition(() => passedByOperator() || t.stopRequested), true)
        : await condition(() => passedByOperator() || t.stopRequested, timeoutMs);
    if (!inTime) {
      t.pause({
        reason: `manual gate after group ${group.index} was not approved within ${spec.timeoutSeconds}s`,
        step: 'gate',
        by: 'barista',
      });
      await condition(() => passedByOperator() || t.stopRequested);
    }
    if (t.stopRequested) return;
    if (t.paused?.step === 'gate') t.resume();
    return operatorDecision();
  }

  if (spec.type === 'timed') {
    t.phase('running');
    await condition(() => t.promoteAll !== undefined || t.approvals.has(group.index) || t.stopRequested, spec.seconds * 1000);
    if (t.stopRequested) return;
    return passedByOperator() ? operatorDecision() : decided('passed', 'barista', `waited ${spec.seconds}s`);
  }

  // auto: all pods of the group Ready with no restarts for the window; retried on resume, or passed by approve
  const timeoutSeconds = spec.timeoutSeconds ?? Math.max(spec.windowSeconds * 3, 60);
  const { awaitGroupStable } = waits(timeoutSeconds);
  for (;;) {
    t.phase('verifying');
    try {
      await awaitGroupStable({
        app: plan.app.name,
        namespace: plan.app.namespace,
        pods: group.pods.map((p) => ({ cluster: plan.cells.find((c) => c.cell === p.cell)!.cluster, name: p.name })),
        windowSeconds: spec.windowSeconds,
        timeoutSeconds,
      });
      return decided('passed', 'barista', `group stable for ${spec.windowSeconds}s`);
    } catch (err) {
      const reason = (err instanceof ActivityFailure ? err.cause?.message : undefined) ?? String(err);
      Object.assign(gate, { state: 'failed', reason });
      t.record('barista', 'gate-failed', `group ${group.index}: ${reason}`);
      if (plan.strategy.onFailure === 'rollback' && plan.from) {
        t.rollbackRequested = { by: 'barista', reason: `verification of group ${group.index} failed: ${reason}` };
        return;
      }
      t.pause({ reason: `verification of group ${group.index} failed: ${reason}`, step: 'gate', by: 'barista' });
      const resumes = t.resumeCount;
      await condition(() => t.resumeCount > resumes || passedByOperator() || t.stopRequested);
      if (t.stopRequested) return;
      if (passedByOperator()) {
        if (t.paused?.step === 'gate') t.resume();
        return operatorDecision();
      }
    }
  }
}
