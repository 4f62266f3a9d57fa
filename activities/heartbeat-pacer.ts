/**
 * When a detached attempt (activities/detached.ts) tells Temporal its latest heartbeat details. Every heartbeat is
 * one RPC the Temporal server persists, and a release keeps hundreds to thousands of pod steps in flight, so the
 * pacer sends:
 * - the first details at once (the attempt has started);
 * - a new step (drain, upgrade, ready…) at once, unless the last send was less than `stepMinMs` ago: then once
 *   that much time has passed, with the details as they are by then. A fast pod's first steps follow each other
 *   within tenths of a second; each used to be an RPC of its own. The live view is at most `stepMinMs` late;
 * - the latest details every `everyMs` (well inside the heartbeat timeout), whether or not they changed;
 * - never two sends at once: details that arrive during a send go out right after it.
 */
export interface HeartbeatPacing {
  everyMs: number;
  stepMinMs: number;
}

export class HeartbeatPacer {
  private latest: unknown;
  private started = false;
  private stopped = false;
  private inFlight = false;
  private again = false;
  private lastSentAt = -Infinity;
  private pendingStep: ReturnType<typeof setTimeout> | undefined;
  private readonly beat: ReturnType<typeof setInterval>;

  constructor(
    private readonly send: (details: unknown) => Promise<void>,
    private readonly pacing: HeartbeatPacing,
  ) {
    this.beat = setInterval(() => void this.flush(), pacing.everyMs);
  }

  /** The attempt's latest details (Temporal's `heartbeat(details)`). */
  update(details: unknown): void {
    const stepChanged = this.started && stepOf(details) !== stepOf(this.latest);
    this.latest = details;
    if (!this.started) {
      this.started = true;
      void this.flush();
    } else if (stepChanged && this.pendingStep === undefined) {
      const wait = this.lastSentAt + this.pacing.stepMinMs - Date.now();
      if (wait <= 0) void this.flush();
      else
        this.pendingStep = setTimeout(() => {
          this.pendingStep = undefined;
          void this.flush();
        }, wait);
    }
  }

  /** No more sends (the attempt ended). */
  stop(): void {
    this.stopped = true;
    clearInterval(this.beat);
    if (this.pendingStep !== undefined) clearTimeout(this.pendingStep);
    this.pendingStep = undefined;
  }

  private async flush(): Promise<void> {
    if (this.stopped) return;
    if (this.inFlight) {
      this.again = true; // newer details arrived while sending: send them right after
      return;
    }
    this.inFlight = true;
    this.again = false;
    this.lastSentAt = Date.now();
    try {
      await this.send(this.latest);
    } finally {
      this.inFlight = false;
    }
    if (this.again) await this.flush();
  }
}

function stepOf(details: unknown): unknown {
  return details && typeof details === 'object' ? (details as { step?: unknown }).step : undefined;
}
