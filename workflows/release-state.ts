import { patched, upsertSearchAttributes } from '@temporalio/workflow';
import type { ClusterRoutes, ReleasePlan } from '../domain/index.js';
import { SA } from './search-attributes.js';
import type { Actor } from './definitions.js';
import type {
  AuditEntry,
  GateStatus,
  PauseReason,
  PodStatus,
  PodSummary,
  ReleaseState,
  ReleaseStatus,
  SkippedCell,
  StatusView,
} from './release-status.js';

/** A batch child in flight (workflows/release-batches.ts), and the control it was last sent. */
export interface LiveBatch {
  workflowId: string;
  group: number | 'rollback';
  pods: string[];
  /** The batch's pods as this release knew them at its start: the release changes them only when it ends. */
  from: PodSummary;
  sent: string;
}

/** A final result lists every pod up to this many; past it, the summary (per-group detail by the status query). */
export const RESULT_DETAIL_LIMIT = 1000;

const FINISHED_STATES: readonly ReleaseState[] = ['succeeded', 'succeeded-with-skips', 'aborted', 'rolled-back', 'failed'];

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
  readonly liveBatches = new Map<string, LiveBatch>();
  /** Disaster mode: cells skipped because their cluster could not be reached, and those clusters with why. */
  readonly ledger: SkippedCell[] = [];
  readonly lostClusters = new Map<string, string>();
  mode: 'normal' | 'disaster' = 'normal';
  /** The change window it waits for now, and the windows an admin let it pass. */
  window: { name: string; until: string; reason?: string } | undefined;
  readonly bypassedWindows = new Map<string, Actor>();
  plan: ReleasePlan | undefined;
  /** Which clusters are agent-served, as asked when the release started (undefined: started before cluster agents). */
  routes: ClusterRoutes | undefined;
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

  /** Called with every entry recorded (the durable audit record's outbox). */
  onRecord: ((entry: AuditEntry) => void) | undefined;
  /**
   * Called when people should hear of the release (workflows/release-notifications.ts): on entering a phase, on a
   * pause, and at its end, once the end is recorded (`finished`) with its reason.
   */
  onNotable: ((state: ReleaseState, detail: { reason?: string; pause?: PauseReason }) => void) | undefined;

  record(by: string, action: string, detail?: string): void {
    const entry = { at: new Date().toISOString(), by, action, ...(detail ? { detail } : {}) };
    this.audit.push(entry);
    this.onRecord?.(entry);
    if (action === 'finished') this.onNotable?.(this.active, detail ? { reason: detail } : {});
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

  inLedger(cell: string): boolean {
    return this.ledger.some((e) => e.cell === cell);
  }

  /**
   * Disaster mode: `cluster` cannot be reached. Every cell of it that still owes pods to this release goes into
   * the ledger; their pods not yet handed to a batch are skipped now (those in a running batch are skipped or
   * left `unknown` by the batch, which is told through its control). Nothing in the cluster is touched.
   */
  loseCluster(cluster: string, reason: string): void {
    if (this.lostClusters.has(cluster) || !this.plan) return;
    this.lostClusters.set(cluster, reason);
    this.record('barista', 'cluster-lost', `${cluster}: ${reason}`);
    const inBatch = new Set([...this.liveBatches.values()].flatMap((b) => b.pods));
    for (const { cell } of this.plan.cells.filter((c) => c.cluster === cluster)) {
      const pods = [...this.pods.values()].filter((p) => p.cell === cell);
      if (this.inLedger(cell) || pods.every((p) => p.state === 'done' || p.state === 'skipped')) continue;
      this.ledger.push({
        cell,
        cluster,
        reason,
        at: new Date().toISOString(),
        group: this.currentGroup ?? 0,
        ...(this.from !== undefined ? { revision: this.from } : {}),
        moved: [],
        midStep: [],
      });
      this.record('barista', 'cell-skipped', `${cell} (cluster ${cluster}): ${reason}`);
      for (const p of pods)
        if (!inBatch.has(p.name) && (p.state === 'pending' || p.state === 'failed'))
          Object.assign(p, p.state === 'failed' ? { state: 'unknown' } : { state: 'skipped', error: `cluster ${cluster} unreachable` });
    }
  }

  /** The ledger's pods as the batches left them: moved to the target, or caught mid-step. */
  settleLedger(): void {
    for (const entry of this.ledger) {
      const pods = [...this.pods.values()].filter((p) => p.cell === entry.cell);
      entry.moved = pods.filter((p) => p.state === 'done' && p.revision === this.to).map((p) => p.name);
      entry.midStep = pods.filter((p) => p.state === 'unknown').map((p) => p.name);
    }
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
    const entered = state !== this.active;
    this.active = state;
    if (!this.paused) this.state = state;
    if (entered && !FINISHED_STATES.includes(state)) this.onNotable?.(state, {});
  }

  pause(reason: Omit<PauseReason, 'since'>): void {
    this.paused = { ...reason, since: new Date().toISOString() };
    this.state = 'paused';
    this.onNotable?.('paused', { reason: reason.reason, pause: this.paused });
  }

  resume(): void {
    this.paused = undefined;
    this.state = this.active;
    this.resumeCount++;
  }

  /** The status: every pod by default; `{ detail: 'summary' }` none, `{ group }` that group's (groups list their pods likewise). */
  status(view: StatusView = {}): ReleaseStatus {
    const all = [...this.pods.values()];
    const group = view.group === 'current' ? (this.currentGroup ?? 0) : typeof view.group === 'number' ? view.group : undefined;
    const detail = group !== undefined ? 'group' : view.detail === 'summary' ? 'summary' : 'full';
    const shown = (index: number) => detail === 'full' || index === group;
    return {
      app: this.app,
      tenant: this.tenant,
      ...(this.from !== undefined ? { from: this.from } : {}),
      to: this.to,
      state: this.state,
      ...(this.currentGroup !== undefined ? { currentGroup: this.currentGroup } : {}),
      ...(this.paused ? { paused: this.paused } : {}),
      ...(this.window ? { window: this.window } : {}),
      groups: (this.plan?.groups ?? []).map((g) => ({
        index: g.index,
        beta: g.beta,
        size: g.pods.length,
        done: g.pods.filter((p) => this.pods.get(p.name)?.state === 'done').length,
        pods: shown(g.index) ? g.pods.map((p) => p.name) : [],
      })),
      pods: detail === 'full' ? all : all.filter((p) => p.group === group),
      gates: this.gates,
      audit: this.audit,
      ...(this.mode === 'disaster' ? { mode: this.mode, ledger: this.ledger, ...(this.plan ? { strategy: this.plan.strategy } : {}) } : {}),
      // exactly the pods this release moved that run its target revision now (not those drained and handed back)
      changedPods: detail === 'full' ? all.filter((p) => this.isChanged(p)).map((p) => p.name) : [],
      summary: this.summary(all),
      detail,
      ...(this.liveBatches.size
        ? {
            batches: [...this.liveBatches.values()].map((b) => ({
              workflowId: b.workflowId,
              group: b.group,
              pods: b.pods.length,
              from: b.from,
            })),
          }
        : {}),
      startedAt: this.startedAt,
      ...(this.finishedAt ? { finishedAt: this.finishedAt } : {}),
    };
  }

  /** What a release returns when it ends: the full status, or past RESULT_DETAIL_LIMIT pods the summary. */
  result(): ReleaseStatus {
    return this.status(this.pods.size > RESULT_DETAIL_LIMIT ? { detail: 'summary' } : {});
  }

  private isChanged(p: PodStatus): boolean {
    return p.changed === true && p.revision === this.to;
  }

  summary(all: PodStatus[]): PodSummary {
    const byState: PodSummary['byState'] = { pending: 0, 'in-progress': 0, done: 0, skipped: 0, failed: 0, unknown: 0 };
    for (const p of all) byState[p.state]++;
    return { total: all.length, byState, changed: all.filter((p) => this.isChanged(p)).length };
  }
}
