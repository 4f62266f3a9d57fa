import type { Revision, TrafficComponent } from './app.js';
import type { CellPlan, ReleasePlan, ReleaseRequest } from './release.js';
import type { ReleaseRun } from './release-run.js';
import { diffRevisions, type RevisionChange } from './revision-diff.js';
import { autoGateTimeoutSeconds, type Gate, type Strategy } from './strategy.js';
import type { Check } from './verification.js';

/** The gate a release holds at after one group (none after the last). */
export interface GatePreview {
  afterGroup: number;
  type: Gate['type'];
  /** manual: approval wanted within this (else the release pauses; unset: waits as long as it takes). auto: the group must be stable within this. */
  timeoutSeconds?: number;
  /** auto: every pod of the group Ready, without restarts, for this long. */
  windowSeconds?: number;
  /** timed: the pause. */
  seconds?: number;
  /** Verification checks run at the gate (docs/verification.md), as given. */
  checks?: Check[];
  /** What a timeout or a failed check does: pause, or roll back (strategy.onFailure, when there is a revision to go back to). */
  onFailure: 'pause' | 'rollback';
}

export interface GroupPreview {
  index: number;
  beta: boolean;
  size: number;
  /** The group's pods in the order the release takes them (as the release's status lists them). */
  pods: string[];
  /** The same pods by cell. */
  cells: Record<string, string[]>;
}

/** What `POST …/release` with `dryRun: true` answers: exactly what a start of the same request would run. */
export interface PlanPreview {
  dryRun: true;
  app: string;
  tenant: string;
  namespace: string;
  mode: ReleaseRequest['mode'];
  /** Revision the cells run now (none: first release). */
  from?: number;
  to: number;
  /** A first release creates each cell's pods group by group, from ordinal 0 up. */
  firstRelease: boolean;
  /** The cells in scope (placement ∩ mask): cluster, workload, pods at the target revision. */
  cells: CellPlan[];
  pods: number;
  groups: GroupPreview[];
  gates: GatePreview[];
  deadlines: {
    /** Each step of a pod (drain, upgrade, ready, undrain, mount) must finish within this, else the release pauses. */
    podTimeoutSeconds: number;
    /** How long each traffic component may take to stop (or start) routing to a pod. */
    trafficComponents: { name: TrafficComponent['name']; deregistrationTimeoutSeconds: number }[];
    /** The gate's own deadline (see gates): manual and auto timeouts; timed: its pause. */
    gateTimeoutSeconds?: number;
  };
  /** The strategy with every default filled in. */
  strategy: Strategy;
  /** The App's unavailability budget over all its pods, when strategy.maxUnavailable is set. */
  budget?: ReleasePlan['budget'];
  /** What changes from the revision the cells run to the target (empty for a first release: everything is new). */
  diff: { from?: number; to: number; changes: RevisionChange[] };
  /** What an operator should know before starting (a release in flight, clusters that did not answer, ...). */
  notices: string[];
}

/**
 * The preview of a planned release run: groups as the status will list them, the gate between every two groups,
 * the deadlines that apply, and the diff of the revisions as registered (`from`, `to`: before cluster overrides
 * are folded in, so a changed cluster override shows as such).
 */
export function previewRun(
  run: ReleaseRun,
  revisions: { from: Revision | undefined; to: Revision },
  request: ReleaseRequest,
  notices: string[] = [],
): PlanPreview {
  const { plan } = run;
  const strategy = plan.strategy;
  const groups = plan.groups.map((g) => {
    const cells: Record<string, string[]> = {};
    for (const p of g.pods) (cells[p.cell] ??= []).push(p.name);
    return { index: g.index, beta: g.beta, size: g.pods.length, pods: g.pods.map((p) => p.name), cells };
  });
  const gates = plan.groups.slice(0, -1).map((g) => gatePreview(g.index, strategy));
  const gateTimeout = gateTimeoutSeconds(strategy.gate);
  return {
    dryRun: true,
    app: plan.app.name,
    tenant: plan.app.tenant,
    namespace: plan.app.namespace,
    mode: request.mode,
    ...(revisions.from ? { from: revisions.from.number } : {}),
    to: revisions.to.number,
    firstRelease: run.firstRelease,
    cells: plan.cells,
    pods: groups.reduce((n, g) => n + g.size, 0),
    groups,
    gates,
    deadlines: {
      podTimeoutSeconds: strategy.podTimeoutSeconds,
      trafficComponents: plan.app.traffic.map((c) => ({ name: c.name, deregistrationTimeoutSeconds: c.deregistrationTimeoutSeconds })),
      ...(gateTimeout !== undefined ? { gateTimeoutSeconds: gateTimeout } : {}),
    },
    strategy,
    ...(plan.budget ? { budget: plan.budget } : {}),
    diff: revisions.from ? diffRevisions(revisions.from, revisions.to) : { to: revisions.to.number, changes: [] },
    notices: [
      ...(run.firstRelease ? [`first release: every pod of revision ${revisions.to.number} is created, group by group`] : []),
      ...notices,
    ],
  };
}

function gatePreview(afterGroup: number, strategy: Strategy): GatePreview {
  const gate = strategy.gate;
  const timeout = gateTimeoutSeconds(gate);
  const base = { afterGroup, type: gate.type, onFailure: strategy.onFailure };
  if (gate.type === 'timed') return { ...base, seconds: gate.seconds };
  return {
    ...base,
    ...(timeout !== undefined ? { timeoutSeconds: timeout } : {}),
    ...(gate.type === 'auto' ? { windowSeconds: gate.windowSeconds } : {}),
    ...(gate.checks ? { checks: gate.checks } : {}),
  };
}

/** The deadline a gate sets: a manual gate's timeout (none: it waits), an auto gate's (given or its default), a timed gate's pause. */
export function gateTimeoutSeconds(gate: Gate): number | undefined {
  if (gate.type === 'auto') return autoGateTimeoutSeconds(gate);
  if (gate.type === 'timed') return gate.seconds;
  return gate.timeoutSeconds;
}
