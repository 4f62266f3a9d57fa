import { ApplicationFailure } from '@temporalio/common';
import { FailureTypes } from '../domain/failures.js';
import { clusterHealth } from '../worker/kube/cluster-health.js';
import { KUBE_REQUEST_TIMEOUT_MS, withKubeSignal } from '../worker/kube/deadlines.js';
import type { ClusterClient } from './clusters.js';
import type { AttemptContext } from './detached.js';
import { describeNodeTrouble, readPod, WaitTimeout } from './pod-watch.js';
import type { EnsurePodReleasedInput, PodStepFailure } from './types.js';

/**
 * How often an attempt of ensurePodReleased heartbeats, whatever it is doing: well inside the heartbeat timeout
 * of the `waits` profile (15 s, workflows/activity-proxies.ts). The heartbeat is also how a superseded attempt
 * learns it is superseded (Temporal answers it with a cancellation) and stops.
 */
export const POD_HEARTBEAT_INTERVAL_MS = 5_000;

/** How long naming the cause of a timeout may take (reading the pod and its node). */
const DIAGNOSIS_MS = 5_000;

/** What each heartbeat carries; a later attempt reads the first attempt's start back from it. */
export interface PodProgress {
  firstAttemptStartedAt: number;
  /** The pod, so that a live view reading a batch's pending activities knows whose step this is. */
  pod?: string;
  step: string;
  /** When the step began (ms since epoch). */
  stepSince?: number;
  waitingFor?: string;
}

/** The attempt stopped itself: the pod budget is spent and the step in hand did not end by itself. */
export class PodBudgetSpent extends Error {
  override readonly name = 'PodBudgetSpent';
}

/**
 * One attempt of ensurePodReleased. The pod's budget (`podTimeoutSeconds`) counts from the start of its FIRST
 * attempt (kept in the heartbeat details, so a retry continues the same budget and time spent queued for a
 * busy worker does not count). Waits give up at `deadline`; past it, and one request deadline more to observe
 * the pod once and say why, `signal` aborts whatever is still in flight. `signal` also aborts when Temporal
 * cancels the attempt (the release no longer wants it, or the attempt was superseded): its requests end, and it
 * writes nothing more.
 */
export class PodAttempt {
  readonly firstAttemptStartedAt: number;
  readonly deadline: number;
  readonly signal: AbortSignal;
  step = 'start';
  private stepSince = Date.now();
  private waitingFor: string | undefined;
  private readonly stop = new AbortController();
  private readonly cancellation: AbortSignal | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  /** `context`: the activity's, or its detached attempt's; none when called directly (tests). */
  constructor(
    readonly budgetSeconds: number,
    private readonly context: AttemptContext | undefined,
    now = Date.now(),
    readonly pod?: string,
  ) {
    const previous = this.context?.info.heartbeatDetails as Partial<PodProgress> | undefined;
    this.firstAttemptStartedAt = typeof previous?.firstAttemptStartedAt === 'number' ? previous.firstAttemptStartedAt : now;
    this.deadline = this.firstAttemptStartedAt + budgetSeconds * 1000;
    const hardStop = Math.max(this.deadline, now) + KUBE_REQUEST_TIMEOUT_MS;
    this.timers.push(
      setTimeout(() => this.stop.abort(new PodBudgetSpent(`the pod budget of ${budgetSeconds}s is spent`)), hardStop - now),
      setInterval(() => this.heartbeat(), POD_HEARTBEAT_INTERVAL_MS),
    );
    this.cancellation = this.context?.cancellationSignal;
    this.signal = this.cancellation ? AbortSignal.any([this.stop.signal, this.cancellation]) : this.stop.signal;
    this.heartbeat();
  }

  /** Temporal cancelled this attempt: it must give up, not explain. */
  get cancelled(): boolean {
    return this.cancellation?.aborted ?? false;
  }

  /** The workflow id of the release (its batch) running this attempt, for log lines. */
  get releaseId(): string | undefined {
    return this.context?.info.workflowExecution?.workflowId;
  }

  get overBudget(): boolean {
    return Date.now() >= this.deadline;
  }

  enter(step: string): void {
    if (step !== this.step) this.stepSince = Date.now();
    this.step = step;
    this.waitingFor = undefined;
    this.heartbeat();
  }

  waiting(waitingFor: string): void {
    this.waitingFor = waitingFor;
  }

  /**
   * A transient failure within the budget, as handed to Temporal for a retry: unchanged, unless the retry
   * policy's next backoff would start the next attempt after the budget; then that attempt is asked for at the
   * budget's end, so a step that keeps failing pauses at its budget, not one backoff later.
   */
  retriedWithinBudget(err: unknown): unknown {
    const policy = this.context?.info.retryPolicy;
    const attemptNumber = this.context?.info.attempt ?? 1;
    const initial = typeof policy?.initialInterval === 'number' ? policy.initialInterval : 1_000;
    const maximum = typeof policy?.maximumInterval === 'number' ? policy.maximumInterval : 100 * initial;
    const backoff = Math.min(initial * (policy?.backoffCoefficient ?? 2) ** (attemptNumber - 1), maximum);
    const remaining = this.deadline - Date.now();
    if (!this.context || backoff <= remaining) return err;
    return ApplicationFailure.create({
      message: err instanceof Error ? err.message : String(err),
      type: err instanceof Error ? err.name : 'Error',
      nextRetryDelay: Math.max(100, remaining),
      ...(err instanceof Error ? { cause: err } : {}),
    });
  }

  end(): void {
    for (const t of this.timers) clearTimeout(t);
  }

  private heartbeat(): void {
    const details: PodProgress = {
      firstAttemptStartedAt: this.firstAttemptStartedAt,
      ...(this.pod ? { pod: this.pod } : {}),
      step: this.step,
      stepSince: this.stepSince,
      ...(this.waitingFor ? { waitingFor: this.waitingFor } : {}),
    };
    this.context?.heartbeat(details);
  }
}

/**
 * What an attempt that failed hands to Temporal. A cancelled attempt gives up as asked; a non-retryable failure
 * stays as it is; a wait that timed out, or any failure once the pod budget is spent, becomes a PodStepTimeout
 * naming the pod, the step and the root cause it can see: the cluster not answering or failing, the pod's node
 * NotReady or gone, the traffic components that did not let go. A transient failure within the budget is
 * rethrown for Temporal to retry.
 */
export async function explainFailure(
  input: EnsurePodReleasedInput,
  client: () => ClusterClient,
  attempt: PodAttempt,
  err: unknown,
): Promise<unknown> {
  if (attempt.cancelled) return err;
  if (err instanceof ApplicationFailure) return err;
  const cluster = () => clusterHealth(input.cluster).describe();
  if (err instanceof WaitTimeout) {
    const waited = `timed out waiting for ${err.waitingFor}`;
    const silent = cluster();
    if (silent) return podStepFailed(input, attempt.step, `${silent} (${waited})`);
    if (attempt.step !== 'await-ready') return podStepFailed(input, attempt.step, waited);
    const node = await withKubeSignal(AbortSignal.timeout(DIAGNOSIS_MS), async () =>
      describeNodeTrouble(client(), await readPod(client(), input.namespace, input.pod)),
    ).catch(() => cluster());
    return podStepFailed(input, attempt.step, node ? `${waited}: ${node}` : waited);
  }
  if (!attempt.overBudget) return attempt.retriedWithinBudget(err);
  if (err instanceof PodBudgetSpent)
    return podStepFailed(input, attempt.step, cluster() ?? `did not finish within the pod budget of ${attempt.budgetSeconds}s`);
  const trying = Math.round((Date.now() - attempt.firstAttemptStartedAt) / 1000);
  const message = err instanceof Error ? err.message : String(err);
  return podStepFailed(input, attempt.step, cluster() ?? `cluster ${input.cluster} still failing after ${trying}s: ${message}`);
}

function podStepFailed(input: EnsurePodReleasedInput, step: string, reason: string): ApplicationFailure {
  const details: PodStepFailure = { pod: input.pod, step, reason };
  return ApplicationFailure.create({
    message: `pod ${input.pod}: ${reason}`,
    type: FailureTypes.podStepTimeout,
    nonRetryable: true,
    details: [details],
  });
}
