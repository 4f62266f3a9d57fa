/**
 * Statistics for reviews from the durable audit record (docs/audit.md): the entries of one release run give its
 * figures (outcome, lead time, time paused); many runs give the figures of an app or a tenant. Pure: the audit
 * store reads the entries, this only counts.
 *
 * It reads the entries releases record (workflows/app-release.ts and the files it calls): `requested` starts a
 * release; `finished` ends it, its detail saying how ("all N pods at revision …", "pods of N cells …; skipped: …",
 * "failed: …", "aborted; …", "stopped before any cell was resolved; …", "rolled back N pods …").
 */

/** One audit entry of a release run, as the store hands it over. */
export interface ReleaseAuditEntry {
  at: string;
  actor: string;
  action: string;
  detail?: string;
}

/** The entries of one release run, oldest first. */
export interface ReleaseRun {
  app: string;
  entries: ReleaseAuditEntry[];
}

export type ReleaseOutcome = 'succeeded' | 'succeeded-with-skips' | 'failed' | 'rolled-back' | 'aborted';

export interface ReleaseFigures {
  app: string;
  requestedAt: string;
  /** Undefined while no `finished` entry is recorded (in flight, or its end not appended yet). */
  outcome: ReleaseOutcome | undefined;
  /** A rollback started (by an operator or by `onFailure: rollback`), whatever the rollback's own end. */
  rolledBack: boolean;
  /** `requested` → `finished`; undefined while in flight. */
  leadTimeSeconds: number | undefined;
  /** The sum of the spans the release was paused (see `pausedMillis`); up to its last entry while in flight. */
  pausedSeconds: number;
}

/** The entries that pause a release by themselves (the release pauses after them unless it rolls back). */
const AUTO_PAUSES = new Set(['pod-failed', 'step-failed', 'gate-failed']);
/** Entries that end whatever pause is open: the operator decided, or the release ended. */
const STOPS = new Set(['abort-requested', 'rollback-requested', 'finished']);

/** A release's figures from its entries; undefined when its `requested` entry is not among them. */
export function releaseFigures(run: ReleaseRun): ReleaseFigures | undefined {
  const requested = run.entries.find((e) => e.action === 'requested');
  if (!requested) return undefined;
  const finished = run.entries.find((e) => e.action === 'finished');
  const outcome = finished ? outcomeOf(finished.detail ?? '', run.entries) : undefined;
  return {
    app: run.app,
    requestedAt: requested.at,
    outcome,
    rolledBack: run.entries.some((e) => e.action === 'rollback-started'),
    leadTimeSeconds: finished ? (ms(finished.at) - ms(requested.at)) / 1000 : undefined,
    pausedSeconds: pausedMillis(run.entries) / 1000,
  };
}

function outcomeOf(detail: string, entries: ReleaseAuditEntry[]): ReleaseOutcome {
  if (detail.startsWith('failed')) return 'failed';
  if (detail.startsWith('aborted') || detail.startsWith('stopped before')) return 'aborted';
  // a rollback stopped by an abort ends aborted, though its entry says how many pods it rolled back
  if (detail.startsWith('rolled back')) return entries.some((e) => e.action === 'abort-requested') ? 'aborted' : 'rolled-back';
  if (detail.includes('skipped:')) return 'succeeded-with-skips';
  return 'succeeded';
}

interface OpenPause {
  since: number;
  /** Opened by a failure, not by an operator's `paused`. */
  auto: boolean;
  /** The failed pod it waits on: skipping that pod resumes the release. */
  pod?: string;
  /** The gate (its group) whose failed verification it waits on: approving that group resumes the release. */
  gate?: string;
}

/**
 * The time a release was paused, summed over its pauses, as the release tracker keeps them: a pause starts at an
 * operator's `paused` or at a failure that pauses (`pod-failed`, `step-failed`, `gate-failed`), and ends at
 * `resumed`, at `skip-pod` of the pod it waits on, at `approved` of the gate it waits on or `promote-all`, at
 * an abort or rollback asked for, a rollback started, or `finished`. A failure followed by a rollback that
 * barista started itself (`onFailure: rollback`) never paused the release. A pause still open counts up to the
 * last entry. (A manual gate's timeout pauses without an entry of its own: that wait is not counted.)
 */
export function pausedMillis(entries: ReleaseAuditEntry[]): number {
  let total = 0;
  let open: OpenPause | undefined;
  const close = (at: number, counted = true) => {
    if (open && counted) total += Math.max(0, at - open.since);
    open = undefined;
  };
  for (const e of entries) {
    const at = ms(e.at);
    const subject = (e.detail ?? '').split(/[ :]/, 1)[0];
    if (e.action === 'paused') open = { since: open?.since ?? at, auto: false };
    else if (AUTO_PAUSES.has(e.action)) {
      const gate = e.action === 'gate-failed' ? groupOf(e.detail) : undefined;
      open = {
        since: open?.since ?? at,
        auto: open?.auto ?? true,
        ...(e.action === 'pod-failed' && subject ? { pod: subject } : {}),
        ...(gate ? { gate } : {}),
      };
    } else if (e.action === 'resumed' || STOPS.has(e.action)) close(at);
    else if (e.action === 'skip-pod' && open?.pod === subject) close(at);
    else if (e.action === 'approved' && open?.gate !== undefined && open.gate === groupOf(e.detail)) close(at);
    else if (e.action === 'promote-all' && open?.gate !== undefined) close(at);
    else if (e.action === 'rollback-started') close(at, !(open?.auto && e.actor === 'barista'));
  }
  const last = entries.at(-1);
  if (open && last) close(ms(last.at));
  return total;
}

/** `group 3: …` → '3'. */
function groupOf(detail: string | undefined): string | undefined {
  return /^group (\d+)/.exec(detail ?? '')?.[1];
}

function ms(iso: string): number {
  return Date.parse(iso);
}

/** The figures of many releases: an app's, or a tenant's. Rates and means are over finished releases. */
export interface AuditStatsFigures {
  /** Releases requested in the range. */
  releases: number;
  finished: number;
  inFlight: number;
  succeeded: number;
  failed: number;
  rolledBack: number;
  aborted: number;
  /** failed / finished; null without a finished release. Likewise the other rates. */
  failureRate: number | null;
  /** Finished releases in which a rollback started / finished. */
  rollbackRate: number | null;
  abortRate: number | null;
  /** `requested` → `finished` of finished releases; p50 and p90 by nearest rank. */
  leadTimeSeconds: { mean: number; p50: number; p90: number } | null;
  /** The time paused per finished release, summed over its pauses, averaged over finished releases. */
  meanPausedSeconds: number | null;
}

export interface AuditStats {
  total: AuditStatsFigures;
  /** One per app, by name. */
  apps: ({ app: string } & AuditStatsFigures)[];
}

/** The figures of a tenant's releases, in total and per app. */
export function auditStats(runs: ReleaseRun[]): AuditStats {
  const releases = runs.map(releaseFigures).filter((f): f is ReleaseFigures => f !== undefined);
  const byApp = new Map<string, ReleaseFigures[]>();
  for (const r of releases) byApp.set(r.app, [...(byApp.get(r.app) ?? []), r]);
  return {
    total: aggregateFigures(releases),
    apps: [...byApp.keys()].sort().map((app) => ({ app, ...aggregateFigures(byApp.get(app)!) })),
  };
}

export function aggregateFigures(releases: ReleaseFigures[]): AuditStatsFigures {
  const finished = releases.filter((r) => r.outcome !== undefined);
  const count = (outcome: ReleaseOutcome) => finished.filter((r) => r.outcome === outcome).length;
  const rate = (n: number) => (finished.length ? n / finished.length : null);
  const succeeded = count('succeeded') + count('succeeded-with-skips');
  const failed = count('failed');
  const rolledBack = finished.filter((r) => r.rolledBack).length;
  const aborted = count('aborted');
  const leadTimes = finished.map((r) => r.leadTimeSeconds!).sort((a, b) => a - b);
  return {
    releases: releases.length,
    finished: finished.length,
    inFlight: releases.length - finished.length,
    succeeded,
    failed,
    rolledBack,
    aborted,
    failureRate: rate(failed),
    rollbackRate: rate(rolledBack),
    abortRate: rate(aborted),
    leadTimeSeconds: leadTimes.length ? { mean: mean(leadTimes), p50: nearestRank(leadTimes, 50), p90: nearestRank(leadTimes, 90) } : null,
    meanPausedSeconds: finished.length ? mean(finished.map((r) => r.pausedSeconds)) : null,
  };
}

function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/** The p-th percentile of ascending `sorted` (not empty) by nearest rank: the smallest value with p% at or below it. */
export function nearestRank(sorted: number[], p: number): number {
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
