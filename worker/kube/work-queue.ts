/**
 * A keyed work queue as controllers use: adding a key that is already queued is a no-op, one key is never
 * processed twice at once, and a failed key is retried with capped backoff.
 */
export class WorkQueue {
  private readonly queued = new Set<string>();
  private readonly active = new Set<string>();
  private readonly redo = new Set<string>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly failures = new Map<string, number>();
  private running = 0;
  private stopped = false;

  constructor(
    private readonly process: (key: string) => Promise<void>,
    private readonly opts: { concurrency?: number; maxBackoffMs?: number; onError?: (key: string, err: unknown) => void } = {},
  ) {}

  add(key: string, delayMs = 0): void {
    if (this.stopped) return;
    if (delayMs > 0) {
      const existing = this.timers.get(key);
      if (existing) clearTimeout(existing);
      const timer = setTimeout(() => {
        this.timers.delete(key);
        this.add(key);
      }, delayMs);
      timer.unref();
      this.timers.set(key, timer);
      return;
    }
    if (this.active.has(key)) {
      this.redo.add(key);
      return;
    }
    this.queued.add(key);
    this.pump();
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.queued.clear();
  }

  private pump(): void {
    const concurrency = this.opts.concurrency ?? 8;
    while (!this.stopped && this.running < concurrency && this.queued.size > 0) {
      const key = this.queued.values().next().value as string;
      this.queued.delete(key);
      this.active.add(key);
      this.running++;
      void this.work(key);
    }
  }

  private async work(key: string): Promise<void> {
    try {
      await this.process(key);
      this.failures.delete(key);
    } catch (err) {
      const n = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, n);
      this.opts.onError?.(key, err);
      this.add(key, Math.min(100 * 2 ** n, this.opts.maxBackoffMs ?? 5_000));
    } finally {
      this.active.delete(key);
      this.running--;
      if (this.redo.delete(key)) this.add(key);
      this.pump();
    }
  }
}
