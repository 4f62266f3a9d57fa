import { KUBE_SILENCE_MS } from './deadlines.js';

/** How a request to a cluster ended without an answer: no answer in time, or refused / reset / unroutable. */
export type Trouble = 'not-answering' | 'unreachable';

/**
 * What this process has seen of one cluster's API server: when it last answered, and since when it has not.
 * Every request and watch through `makeApiClient` / `DeadlineWatch` reports here, so a pause reason can name
 * the cluster as the root cause ("cluster kc2 not answering for 35s") whichever caller noticed first.
 */
export class ClusterHealth {
  private lastAnswerAt: number | undefined;
  private trouble: { kind: Trouble; since: number; message: string } | undefined;
  private readonly pending = new Map<symbol, number>();

  constructor(readonly cluster: string) {}

  /** A request starts; call the returned function when it ends, however it ends. */
  begin(now = Date.now()): () => void {
    const id = Symbol();
    this.pending.set(id, now);
    return () => this.pending.delete(id);
  }

  /** The API server answered (any status: a 500 is an answer). */
  answered(now = Date.now()): void {
    this.lastAnswerAt = now;
    this.trouble = undefined;
  }

  /** A request begun at `startedAt` ended without an answer. */
  failed(kind: Trouble, startedAt: number, message: string): void {
    if (this.lastAnswerAt !== undefined && this.lastAnswerAt > startedAt) return; // answered since: stale news
    this.trouble = { kind, since: Math.min(this.trouble?.since ?? startedAt, startedAt), message };
  }

  /**
   * The cluster as a root cause, or undefined if it answers: "cluster kc2 not answering for 35s" (requests
   * time out or have been pending for KUBE_SILENCE_MS), "cluster kc2 still failing after 12s: connect
   * ECONNREFUSED …" (refused, reset).
   */
  describe(now = Date.now()): string | undefined {
    const oldestPending = Math.min(...this.pending.values());
    const silentSince = now - oldestPending >= KUBE_SILENCE_MS ? oldestPending : undefined;
    if (this.trouble?.kind === 'unreachable' && silentSince === undefined)
      return `cluster ${this.cluster} still failing after ${seconds(now - this.trouble.since)}s: ${this.trouble.message}`;
    const since = Math.min(this.trouble?.since ?? Infinity, silentSince ?? Infinity);
    if (since === Infinity) return undefined;
    return `cluster ${this.cluster} not answering for ${seconds(now - since)}s`;
  }
}

const byCluster = new Map<string, ClusterHealth>();

/** The health of cluster `name` (a kubeconfig context) as this process sees it. */
export function clusterHealth(name: string): ClusterHealth {
  let health = byCluster.get(name);
  if (!health) byCluster.set(name, (health = new ClusterHealth(name)));
  return health;
}

function seconds(ms: number): number {
  return Math.max(0, Math.round(ms / 1000));
}
