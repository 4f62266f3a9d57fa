import { AsyncLocalStorage, AsyncResource } from 'node:async_hooks';
import { Context } from '@temporalio/activity';

/**
 * Every Kubernetes request Barista makes has a deadline: a cluster that does not answer (an API server frozen,
 * a half-open connection, a network that drops packets) fails the request instead of holding its caller for
 * ever. The deadline covers the whole request: connecting, sending, and reading the full response (for a
 * watch: until the response starts). Raise it with `BARISTA_KUBE_REQUEST_TIMEOUT_MS` for clusters whose
 * lists are very large or far away; it should stay well below a release's pod budget (`podTimeoutSeconds`),
 * since a hung cluster is noticed at the latest one request deadline after it froze.
 */
export const KUBE_REQUEST_TIMEOUT_MS = positiveIntFromEnv('BARISTA_KUBE_REQUEST_TIMEOUT_MS', 10_000);

/**
 * A watch asks the API server to end it after this long (`timeoutSeconds`), and is given up from our side
 * when nothing has arrived for that long plus one request deadline: a watch on a frozen API server stays
 * silent but open, so this is how a watching cache notices it and lists again.
 */
export const KUBE_WATCH_TIMEOUT_SECONDS = 30;

/** A request pending this long without an answer counts as the cluster not answering, in pause reasons. */
export const KUBE_SILENCE_MS = 5_000;

const scope = new AsyncLocalStorage<AbortSignal>();

/**
 * Runs `run` with `signal` added to every Kubernetes request and watch it makes (however deep): aborting it
 * aborts them. Scopes nest; the innermost sees all of them.
 */
export function withKubeSignal<T>(signal: AbortSignal, run: () => Promise<T>): Promise<T> {
  const outer = scope.getStore();
  return scope.run(outer ? AbortSignal.any([outer, signal]) : signal, run);
}

/**
 * What ends a request besides its own deadline: the enclosing `withKubeSignal` scopes and, inside a Temporal
 * activity, the attempt's cancellation (the workflow cancelled it, or the heartbeat found it superseded or
 * timed out): a superseded attempt never writes later.
 */
export function callerSignal(): AbortSignal | undefined {
  const scoped = scope.getStore();
  const activity = activityCancellation();
  if (scoped && activity) return AbortSignal.any([scoped, activity]);
  return scoped ?? activity;
}

// made when this module loads: its async context holds no caller's scope and no activity
const outsideEveryCaller = new AsyncResource('barista.detached');

/**
 * Runs `run` outside every `withKubeSignal` scope and activity: for what outlives the call that started it (the
 * worker's shared pod watch, started by the first wait that needs it). Started inside that wait, every later
 * request of it (each watch renewal, each relist) would still carry the wait's signals: once that activity is
 * cancelled (Temporal cancels a finished activity whose late heartbeat finds it gone), all of them fail at once.
 */
export function detachedFromCallers<T>(run: () => T): T {
  return outsideEveryCaller.runInAsyncScope(run);
}

function activityCancellation(): AbortSignal | undefined {
  try {
    return Context.current().cancellationSignal;
  } catch {
    return undefined; // not inside an activity (gate keepers, traffic components, the sandbox)
  }
}

export function positiveIntFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive whole number, got "${raw}"`);
  return value;
}
