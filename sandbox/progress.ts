/**
 * Progress lines for steps that take more than a moment. Written to stderr so that stdout stays
 * machine-readable; a long step prints a "still running" line every `heartbeatMs`.
 */
export interface Progress {
  step<T>(label: string, run: () => Promise<T>): Promise<T>;
  info(message: string): void;
}

export function createProgress(opts: { heartbeatMs?: number; write?: (line: string) => void } = {}): Progress {
  const heartbeatMs = opts.heartbeatMs ?? 15_000;
  const write = opts.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)}s`;
  return {
    info: (message) => write(`[barista] ${message}`),
    async step(label, run) {
      const started = Date.now();
      write(`[barista] ${label} ...`);
      const timer = setInterval(() => write(`[barista] ${label}: still running (${seconds(started)})`), heartbeatMs);
      timer.unref();
      try {
        const result = await run();
        write(`[barista] ${label}: done in ${seconds(started)}`);
        return result;
      } catch (err) {
        write(`[barista] ${label}: FAILED after ${seconds(started)}`);
        throw err;
      } finally {
        clearInterval(timer);
      }
    },
  };
}

/** Progress that prints nothing, for tests that do not want the noise. */
export const silentProgress: Progress = { step: (_label, run) => run(), info: () => undefined };
