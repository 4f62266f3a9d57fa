import type { V1Pod } from '@kubernetes/client-node';
import { clusterHealth } from '../worker/kube/cluster-health.js';
import type { Clusters } from './clusters.js';
import { LABELS } from './labels.js';
import { gateStatus } from './pod-state.js';
import { WaitTimeout } from './pod-watch.js';

/** The App's one unavailability budget, as a pod step receives it (EnsurePodReleasedInput.budget). */
export interface BudgetInput {
  /** Pods of the App that may be unavailable at once, across all its cells and clusters. */
  maxUnavailable: number;
  /** Every cluster of the App's placement (not only those of this release's scope), with the App's pods there. */
  clusters: { name: string; pods: number }[];
}

/** How long a wait gives a cluster's shared watch to list its pods before counting them all as unavailable. */
const SYNC_WAIT_MS = 5_000;

/** How often a wait for the budget looks again without a pod change (a cluster going silent sends none). */
const RECHECK_MS = 2_000;

/** One pod counted against the budget, and why. */
export interface Unavailable {
  pod: string;
  why: string;
}

/**
 * Unavailable pods of an App as the worker's shared pod caches see them, in every cluster of its placement: a pod
 * terminating, not Ready (upgrading, starting, on a stopped node), or drained (traffic gate not True); every pod of
 * the App in a cluster that does not answer. Pods that do not exist (deleted, not yet recreated) are not seen.
 */
export function unavailablePods(clusters: Clusters, input: { namespace: string; app: string }, budget: BudgetInput): Unavailable[] {
  const out: Unavailable[] = [];
  for (const { name, pods: expected } of budget.clusters) {
    // a cell a disaster-mode release could not locate is planned in "kc6 or kc7": its pods count, as unreachable
    const cache = clusters.names().includes(name) ? clusters.get(name).pods : undefined;
    const pods = cache?.list(input.namespace, { [LABELS.app]: input.app }) ?? [];
    const silent = cache ? clusterHealth(name).describe() : 'unknown';
    // a cluster not answering, or never listed: every pod the App has there counts (those seen, at least)
    if (silent || !cache?.ready) {
      const why = silent ? `in cluster ${name}, which does not answer` : `in cluster ${name}, not listed yet`;
      const names = pods.map((p) => p.metadata?.name ?? '?');
      for (let i = names.length; i < expected; i++) names.push(`(${name} pod ${i + 1})`);
      for (const pod of names) out.push({ pod, why });
      continue;
    }
    for (const pod of pods) {
      const why = unavailableBecause(pod);
      if (why) out.push({ pod: pod.metadata?.name ?? '?', why });
    }
  }
  return out;
}

function unavailableBecause(pod: V1Pod): string | undefined {
  if (pod.metadata?.deletionTimestamp) return 'terminating';
  const ready = pod.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
  if (!ready) return `not ready${pod.spec?.nodeName ? ` on node ${pod.spec.nodeName}` : ''}`;
  if (gateStatus(pod) !== 'True') return 'drained';
  return undefined;
}

/**
 * The worker's side of the budget: before a pod step takes a serving pod down it acquires a place, which counts
 * as unavailable from then until the step ends (the caches see the pod drained soon after, and count it too).
 * Checking and taking a place happen with no await in between, so the pod steps of one worker never overrun the
 * budget together; a release also caps its pods in flight at the budget (workflows/release-batches.ts), which
 * bounds what steps running on other workers add.
 */
export class UnavailabilityBudgets {
  /** Places taken per App (`namespace/app`): the pods whose steps hold them. */
  private readonly taken = new Map<string, Set<string>>();

  constructor(private readonly clusters: Clusters) {}

  /**
   * Waits until pod `pod` may be taken down without the App's unavailable pods passing the budget, then takes a
   * place for it; returns the function that gives it back. Reports what it waits for through `onProgress`
   * ("budget: 2 of 2 in use: pay-rz01a-0 not ready on node rz01a-n0, pay-rz00b-1 drained"); rejects with
   * WaitTimeout at `deadline` or when `signal` aborts.
   */
  async acquire(
    input: { namespace: string; app: string; pod: string },
    budget: BudgetInput,
    opts: { deadline: number; signal?: AbortSignal; onProgress?: (waitingFor: string) => void },
  ): Promise<() => void> {
    const key = `${input.namespace}/${input.app}`;
    const known = budget.clusters.filter((c) => this.clusters.names().includes(c.name));
    const caches = known.map((c) => this.clusters.get(c.name).pods).filter((p) => p !== undefined);
    const listed = Promise.all(caches.map((c) => c.synced()));
    await Promise.race([listed, new Promise((r) => setTimeout(r, Math.min(SYNC_WAIT_MS, Math.max(0, opts.deadline - Date.now()))))]);
    for (;;) {
      const held = this.taken.get(key) ?? new Set<string>();
      const all = unavailablePods(this.clusters, input, budget);
      const seen = all.filter((u) => u.pod !== input.pod);
      // a pod already out of service (a retry of a step that drained it, a pod not ready) takes nothing more
      const inUse = new Map(seen.map((u) => [u.pod, u.why]));
      for (const pod of held) if (pod !== input.pod && !inUse.has(pod)) inUse.set(pod, 'being taken down');
      if (inUse.size < budget.maxUnavailable || all.length > seen.length) {
        held.add(input.pod);
        this.taken.set(key, held);
        return () => {
          held.delete(input.pod);
          if (held.size === 0 && this.taken.get(key) === held) this.taken.delete(key);
        };
      }
      const listed = [...inUse].slice(0, 10).map(([pod, why]) => `${pod} ${why}`);
      const waitingFor = `budget: ${inUse.size} of ${budget.maxUnavailable} unavailable in use: ${listed.join(', ')}${inUse.size > 10 ? ', …' : ''}`;
      if (Date.now() >= opts.deadline) throw new WaitTimeout(waitingFor);
      opts.onProgress?.(waitingFor);
      await this.nextChange(caches, opts.deadline, opts.signal);
      if (opts.signal?.aborted) throw new WaitTimeout(waitingFor);
    }
  }

  /** Resolves on the next change to any of the App's pods, after RECHECK_MS, at the deadline, or on abort. */
  private nextChange(caches: NonNullable<ReturnType<Clusters['get']>['pods']>[], deadline: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        for (const off of offs) off();
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, Math.min(RECHECK_MS, deadline - Date.now())));
      const offs = caches.map((c) => c.onAnyChange(done));
      signal?.addEventListener('abort', done, { once: true });
    });
  }
}
