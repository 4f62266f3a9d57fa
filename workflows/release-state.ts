import { patched, upsertSearchAttributes } from '@temporalio/workflow';
import type { ReleasePlan } from '../domain/index.js';
import { SA } from './search-attributes.js';
import type { Actor } from './definitions.js';
import type { AuditEntry, GateStatus, PauseReason, PodStatus, ReleaseState, ReleaseStatus } from './release-status.js';

const FINISHED_STATES: readonly ReleaseState[] = ['succeeded', 'aborted', 'rolled-back', 'failed'];

/**
 * The release's state and its invariants; the workflow function wires signals to it and the status query
 * reads it. Every operator action is recorded in the audit trail with who and when.
 */
export class ReleaseTracker {
  private current: ReleaseState = 'planning';
  /** What the release is doing when not paused. */
  private active: ReleaseState = 'planning';
  paused: PauseReason | undefined;
  currentGroup: number | undefined;
  abortRequested: Actor | undefined;
  rollbackRequested: Actor | undefined;
  promoteAll: Actor | undefined;
  /** Bumped by `resume`: a pod or gate waiting on a pause retries. */
  resumeCount = 0;
  readonly approvals = new Map<number, Actor & { at: string }>();
  readonly skipped = new Set<string>();
  readonly pods = new Map<string, PodStatus>();
  readonly gates: GateStatus[] = [];
  readonly audit: AuditEntry[] = [];
  plan: ReleasePlan | undefined;
  readonly startedAt = new Date().toISOString();
  finishedAt: string | undefined;

  constructor(
    readonly app: string,
    readonly tenant: string,
    readonly from: number | undefined,
    readonly to: number,
  ) {}

  get stopRequested(): boolean {
    return this.abortRequested !== undefined || this.rollbackRequested !== undefined;
  }

  /** The release reached its end (succeeded, aborted, rolled back, failed): operator actions change nothing any more. */
  isFinished(): boolean {
    return this.finishedAt !== undefined || FINISHED_STATES.includes(this.active);
  }

  record(by: string, action: string, detail?: string): void {
    this.audit.push({ at: new Date().toISOString(), by, action, ...(detail ? { detail } : {}) });
  }

  setPlan(plan: ReleasePlan): void {
    this.plan = plan;
    const clusterOf = new Map(plan.cells.map((c) => [c.cell, c.cluster]));
    for (const group of plan.groups)
      for (const pod of group.pods)
        this.pods.set(pod.name, {
          name: pod.name,
          cell: pod.cell,
          cluster: clusterOf.get(pod.cell) ?? '',
          group: group.index,
          state: 'pending',
        });
    for (const group of plan.groups.slice(0, -1)) this.gates.push({ group: group.index, type: plan.strategy.gate.type, state: 'pending' });
  }

  pod(name: string): PodStatus {
    const pod = this.pods.get(name);
    if (!pod) throw new Error(`pod ${name} is not in the plan`);
    return pod;
  }

  gate(group: number): GateStatus | undefined {
    return this.gates.find((g) => g.group === group);
  }

  get state(): ReleaseState {
    return this.current;
  }

  /** Changes the visible state; v2 also mirrors it into the BaristaState search attribute (Temporal UI, list queries). */
  set state(next: ReleaseState) {
    if (next === this.current) return;
    this.current = next;
    if (patched('state-search-attribute')) upsertSearchAttributes([{ key: SA.state, value: next }]);
  }

  /** Enters a phase of the release (running, waiting-approval, ...); shown unless paused. */
  phase(state: ReleaseState): void {
    this.active = state;
    if (!this.paused) this.state = state;
  }

  pause(reason: Omit<PauseReason, 'since'>): void {
    this.paused = { ...reason, since: new Date().toISOString() };
    this.state = 'paused';
  }

  resume(): void {
    this.paused = undefined;
    this.state = this.active;
    this.resumeCount++;
  }

  status(): ReleaseStatus {
    return {
      app: this.app,
      tenant: this.tenant,
      ...(this.from !== undefined ? { from: this.from } : {}),
      to: this.to,
      state: this.state,
      ...(this.currentGroup !== undefined ? { currentGroup: this.currentGroup } : {}),
      ...(this.paused ? { paused: this.paused } : {}),
      groups: (this.plan?.groups ?? []).map((g) => ({ index: g.index, beta: g.beta, pods: g.pods.map((p) => p.name) })),
      pods: [...this.pods.values()],
      gates: this.gates,
      audit: this.audit,
      // exactly the pods this release moved that run its target revision now (not those drained and handed back)
      changedPods: [...this.pods.values()].filter((p) => p.changed && p.revision === this.to).map((p) => p.name),
      startedAt: this.startedAt,
      ...(this.finishedAt ? { finishedAt: this.finishedAt } : {}),
    };
  }
}
