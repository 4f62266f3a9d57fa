import { ApplicationFailure, CompleteAsyncError, Context, type Info } from '@temporalio/activity';
import {
  ActivityCancelledError,
  ActivityNotFoundError,
  ActivityPausedError,
  ActivityResetError,
  type AsyncCompletionClient,
} from '@temporalio/client';
import type { Logger } from 'pino';
import { HeartbeatPacer } from './heartbeat-pacer.js';

/**
 * What a long activity needs of its attempt: Temporal's activity Context has this shape, and so has a detached
 * attempt's (below), so the same code runs in either.
 */
export interface AttemptContext {
  readonly info: Info;
  heartbeat(details?: unknown): void;
  readonly cancellationSignal: AbortSignal;
}

/**
 * How often a detached attempt heartbeats (the latest details its code gave): well inside the 15 s heartbeat
 * timeout of the `waits` profile (workflows/activity-proxies.ts).
 */
export const DETACHED_HEARTBEAT_MS = 5_000;

/**
 * A new step is told to Temporal at once, but not sooner than this after the previous heartbeat (the live view
 * is at most this late): a fast pod's locate, workload, drain and upgrade steps each took one heartbeat RPC.
 */
export const DETACHED_STEP_HEARTBEAT_MIN_MS = 1_000;

/** How long stopping waits for detached attempts to hand themselves back to Temporal. */
const STOP_GRACE_MS = 10_000;

/** The worker is stopping: the attempt is handed back to Temporal, which retries it on a worker still running. */
export class WorkerStopping extends Error {
  override readonly name = 'WorkerStopping';
}

/**
 * Long waits without an activity slot. A pod step spends nearly all its time waiting (drained, ready, mounted)
 * on the worker's shared pod cache; holding one of the worker's activity slots for that would cap the pods in
 * flight at the slot count. A detached activity returns its slot at once (async completion) and goes on as a
 * plain promise in the worker process: it heartbeats through the Temporal client, learns of cancellation from
 * the heartbeat's answer, and completes or fails the activity itself. If the worker dies, its heartbeats stop
 * and Temporal retries the attempt elsewhere after the heartbeat timeout, exactly as for an attempt holding a
 * slot; the activities are idempotent, so the retry resumes where the pod is.
 */
export class DetachedAttempts {
  private readonly running = new Map<AbortController, Promise<void>>();

  /**
   * Without a completion client (activities called directly in tests) the activity runs in its slot. `sent`
   * counts the heartbeat RPCs (barista_detached_heartbeats_total).
   */
  constructor(
    private readonly completion: AsyncCompletionClient | undefined,
    private readonly logger: Logger,
    private readonly sent?: { inc(): void },
  ) {}

  /** Attempts running detached now. */
  get size(): number {
    return this.running.size;
  }

  /** The activity `run`, detached from its slot when called as an activity of a worker with a client. */
  wrap<I, O>(run: (input: I, ctx: AttemptContext | undefined) => Promise<O>): (input: I) => Promise<O> {
    return async (input: I) => {
      const ctx = currentContext();
      if (!ctx || !this.completion) return await run(input, ctx);
      this.detach(this.completion, ctx.info, (detached) => run(input, detached));
      throw new CompleteAsyncError();
    };
  }

  /**
   * Hands every detached attempt back to Temporal (failed as retryable: WorkerStopping), to be retried at once by
   * a worker still running; call once the worker stopped polling, before the Temporal connection closes.
   */
  async stop(): Promise<void> {
    const all = [...this.running];
    for (const [stop] of all) stop.abort(new WorkerStopping('the worker is stopping'));
    await Promise.race([Promise.allSettled(all.map(([, done]) => done)), new Promise((r) => setTimeout(r, STOP_GRACE_MS).unref())]);
  }

  private detach<O>(completion: AsyncCompletionClient, info: Info, run: (ctx: AttemptContext) => Promise<O>): void {
    const token = info.taskToken;
    const stop = new AbortController();
    const log = this.logger.child({ activity: info.activityType, activityId: info.activityId, attempt: info.attempt });
    const pacer = new HeartbeatPacer(
      async (details) => {
        try {
          this.sent?.inc();
          await completion.heartbeat(token, details);
        } catch (err) {
          // cancelled (the release no longer wants it), timed out or superseded (not found), paused or reset by an
          // operator: this attempt ends and writes nothing more. Anything else is Temporal not answering: the
          // heartbeat timeout decides.
          if (endsAttempt(err)) stop.abort(err);
          else log.warn({ err }, 'heartbeat of a detached activity failed');
        }
      },
      { everyMs: DETACHED_HEARTBEAT_MS, stepMinMs: DETACHED_STEP_HEARTBEAT_MIN_MS },
    );
    // an attempt that ends (given up by Temporal, or handed back as the worker stops) sends nothing more
    stop.signal.addEventListener('abort', () => pacer.stop(), { once: true });
    const ctx: AttemptContext = { info, heartbeat: (details) => pacer.update(details), cancellationSignal: stop.signal };
    const done = (async () => {
      try {
        const result = await run(ctx);
        await completion.complete(token, result);
      } catch (err) {
        const reason: unknown = stop.signal.aborted ? stop.signal.reason : undefined;
        if (reason instanceof ActivityCancelledError) await completion.reportCancellation(token);
        else if (reason instanceof WorkerStopping) await completion.fail(token, ApplicationFailure.retryable(reason.message, reason.name));
        else if (!reason) await completion.fail(token, err);
        // else: given up by Temporal (timed out, superseded, reset, paused): there is no one to report to
      }
    })()
      .catch((err: unknown) => {
        // the attempt was given up meanwhile: its successor (or the workflow's decision) stands
        if (!(err instanceof ActivityNotFoundError)) log.warn({ err }, 'reporting a detached activity to Temporal failed');
      })
      .finally(() => {
        pacer.stop();
        this.running.delete(stop);
      });
    this.running.set(stop, done);
  }
}

function endsAttempt(err: unknown): boolean {
  return (
    err instanceof ActivityCancelledError ||
    err instanceof ActivityNotFoundError ||
    err instanceof ActivityPausedError ||
    err instanceof ActivityResetError
  );
}

function currentContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined; // called outside an activity (direct calls in tests)
  }
}
