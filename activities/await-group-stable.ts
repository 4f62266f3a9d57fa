import type { V1Pod } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/activity';
import { FailureTypes } from '../domain/failures.js';
import { ClusterUnavailable } from '../worker/kube/errors.js';
import { startResilientInformer, type ResilientInformer } from '../worker/kube/resilient-informer.js';
import type { Clusters } from './clusters.js';
import type { AttemptContext } from './detached.js';
import { LABELS } from './labels.js';
import type { AwaitGroupStableInput } from './types.js';

const HEARTBEAT_MS = 5_000;
/** After a failed confirmation read, the window is checked again this much later. */
const RECHECK_MS = 1_000;

/**
 * The auto gate's verification window: every pod of the group Ready, with no restart and no replacement,
 * for `windowSeconds` in a row. Pods are followed with a list+watch per cluster (re-established after API
 * server restarts); a timer re-checks when the window would close. A restart or replacement fails at
 * once; not being stable by the timeout fails with what was last wrong. Heartbeats carry how long the
 * group has been stable, and when the first attempt started: the timeout counts from there, not from each
 * retry. Before the window passes, each cluster is read once afresh: a frozen API server leaves a watch open
 * and silent, so a cache alone cannot tell a quiet group from a cluster that stopped answering.
 */
export function createAwaitGroupStable(clusters: Clusters) {
  return async function awaitGroupStable(input: AwaitGroupStableInput, ctx?: AttemptContext): Promise<{ stableForSeconds: number }> {
    const clusterNames = [...new Set(input.pods.map((p) => p.cluster))];
    const clients = clusterNames.map((name) => clusters.get(name));
    const previous = ctx?.info.heartbeatDetails as { firstAttemptStartedAt?: unknown } | undefined;
    const firstAttemptStartedAt = typeof previous?.firstAttemptStartedAt === 'number' ? previous.firstAttemptStartedAt : Date.now();
    return await new Promise<{ stableForSeconds: number }>((resolve, reject) => {
      const baseline = new Map<string, { uid: string; restarts: number }>();
      const synced = new Set<string>();
      let stableSince: number | undefined;
      let problem = 'no observation yet';
      let windowTimer: NodeJS.Timeout | undefined;
      let settled = false;
      let confirming = false;

      const caches = new Map<string, ResilientInformer<V1Pod>>();
      const podOf = (cluster: string, name: string) => caches.get(cluster)?.cache.get(name, input.namespace) as V1Pod | undefined;
      for (const client of clients) {
        const informer = startResilientInformer<V1Pod>(
          client.kc,
          `/api/v1/namespaces/${input.namespace}/pods`,
          () => client.core.listNamespacedPod({ namespace: input.namespace, labelSelector: `${LABELS.app}=${input.app}` }),
          {
            onChange: () => evaluate(),
            onDelete: () => evaluate(),
            // while a cluster's watch is down its cache may be stale: the window starts again once it is listed anew
            onError: (err) => {
              synced.delete(client.name);
              stableSince = undefined;
              clearTimeout(windowTimer);
              problem = `watching ${client.name}: ${String(err)}`;
            },
            onSynced: () => {
              synced.add(client.name);
              evaluate();
            },
          },
          { labelSelector: `${LABELS.app}=${input.app}` },
        );
        caches.set(client.name, informer);
      }
      const informers = [...caches.values()];

      const settle = (outcome: { ok: { stableForSeconds: number } } | { err: unknown }) => {
        if (settled) return;
        settled = true;
        clearTimeout(windowTimer);
        clearTimeout(deadline);
        clearInterval(beat);
        cancelled?.removeEventListener('abort', onCancel);
        void Promise.all(informers.map((i) => i.stop())).catch(() => undefined);
        if ('ok' in outcome) resolve(outcome.ok);
        else reject(outcome.err);
      };
      const fail = (message: string) => settle({ err: ApplicationFailure.nonRetryable(message, FailureTypes.gateFailed) });
      const stableFor = () => (stableSince === undefined ? 0 : (Date.now() - stableSince) / 1000);

      function evaluate(): void {
        if (settled || synced.size < clusterNames.length) return;
        problem = '';
        for (const { cluster, name } of input.pods) {
          const pod = podOf(cluster, name);
          if (!pod) {
            problem ||= `pod ${name} is missing`;
            continue;
          }
          const uid = pod.metadata?.uid ?? '';
          const restarts = (pod.status?.containerStatuses ?? []).reduce((n, c) => n + c.restartCount, 0);
          const base = baseline.get(name);
          if (!base) baseline.set(name, { uid, restarts });
          else if (base.uid !== uid) return fail(`pod ${name} was replaced during verification`);
          else if (restarts > base.restarts)
            return fail(`pod ${name} restarted during verification (restarts ${base.restarts} → ${restarts})`);
          if (!pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) problem ||= `pod ${name} is not Ready`;
        }
        clearTimeout(windowTimer);
        if (problem) {
          stableSince = undefined;
          return;
        }
        stableSince ??= Date.now();
        if (stableFor() >= input.windowSeconds) return void confirmAndPass();
        // nothing changes while the group is stable: check again when the window closes
        windowTimer = setTimeout(evaluate, stableSince + input.windowSeconds * 1000 - Date.now() + 10);
      }

      /** Every cluster answers a fresh read (with its request deadline), the group still stable: the window passes. */
      async function confirmAndPass(): Promise<void> {
        if (confirming) return;
        confirming = true;
        const failed = await Promise.all(
          clients.map((c) =>
            c.core.listNamespacedPod({ namespace: input.namespace, labelSelector: `${LABELS.app}=${input.app}`, limit: 1 }).then(
              () => undefined,
              (err: unknown) => (err instanceof ClusterUnavailable ? err.message : `cluster ${c.name}: ${String(err)}`),
            ),
          ),
        );
        confirming = false;
        if (settled) return;
        const failure = failed.find((f) => f !== undefined);
        if (!failure) {
          if (stableSince !== undefined) return settle({ ok: { stableForSeconds: stableFor() } });
          return evaluate(); // something changed meanwhile
        }
        problem = failure;
        stableSince = undefined;
        clearTimeout(windowTimer);
        windowTimer = setTimeout(evaluate, RECHECK_MS);
      }

      const heartbeat = () => ctx?.heartbeat({ stableForSeconds: stableFor(), problem, firstAttemptStartedAt });
      const beat = setInterval(heartbeat, HEARTBEAT_MS);
      heartbeat();
      const deadline = setTimeout(
        () => fail(`group not stable for ${input.windowSeconds}s within ${input.timeoutSeconds}s: ${problem}`),
        Math.max(0, firstAttemptStartedAt + input.timeoutSeconds * 1000 - Date.now()),
      );
      const cancelled = ctx?.cancellationSignal;
      const onCancel = () => settle({ err: cancelled?.reason ?? new Error('verification cancelled') });
      cancelled?.addEventListener('abort', onCancel);
      if (cancelled?.aborted) onCancel();
    });
  };
}
