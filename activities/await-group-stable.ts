import type { V1Pod } from '@kubernetes/client-node';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { FailureTypes } from '../domain/failures.js';
import type { Clusters } from './clusters.js';
import { rethrowKubeError } from './kube-errors.js';
import { LABELS } from './labels.js';
import type { AwaitGroupStableInput } from './types.js';

const SAMPLE_MS = 1_000;

/**
 * The auto gate's verification window: every pod of the group Ready, with no restart and no replacement,
 * for `windowSeconds` in a row. A restart or replacement fails at once; not being stable by the timeout
 * fails with what was last wrong. Heartbeats carry how long the group has been stable.
 */
export function createAwaitGroupStable(clusters: Clusters) {
  return async function awaitGroupStable(input: AwaitGroupStableInput): Promise<{ stableForSeconds: number }> {
    const started = Date.now();
    const deadline = started + input.timeoutSeconds * 1000;
    const baseline = new Map<string, { uid: string; restarts: number }>();
    let stableSince: number | undefined;
    let problem = 'no observation yet';
    const cancelled = Context.current().cancellationSignal;
    while (Date.now() < deadline && !cancelled.aborted) {
      const pods = await observe(clusters, input);
      problem = '';
      for (const { cluster, name } of input.pods) {
        const pod = pods.get(`${cluster}/${name}`);
        if (!pod) {
          problem = `pod ${name} is missing`;
          continue;
        }
        const uid = pod.metadata?.uid ?? '';
        const restarts = (pod.status?.containerStatuses ?? []).reduce((n, c) => n + c.restartCount, 0);
        const base = baseline.get(name);
        if (!base) baseline.set(name, { uid, restarts });
        else if (base.uid !== uid) fail(`pod ${name} was replaced during verification`);
        else if (restarts > base.restarts) fail(`pod ${name} restarted during verification (restarts ${base.restarts} → ${restarts})`);
        if (!pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) problem ||= `pod ${name} is not Ready`;
      }
      if (problem) stableSince = undefined;
      else stableSince ??= Date.now();
      const stableFor = stableSince === undefined ? 0 : (Date.now() - stableSince) / 1000;
      Context.current().heartbeat({ stableForSeconds: stableFor, problem });
      if (stableFor >= input.windowSeconds) return { stableForSeconds: stableFor };
      await Context.current().sleep(SAMPLE_MS);
    }
    return fail(`group not stable for ${input.windowSeconds}s within ${input.timeoutSeconds}s: ${problem}`);
  };
}

function fail(message: string): never {
  throw ApplicationFailure.nonRetryable(message, FailureTypes.gateFailed);
}

async function observe(clusters: Clusters, input: AwaitGroupStableInput): Promise<Map<string, V1Pod>> {
  const result = new Map<string, V1Pod>();
  for (const cluster of new Set(input.pods.map((p) => p.cluster))) {
    const list = await clusters
      .get(cluster)
      .core.listNamespacedPod({ namespace: input.namespace, labelSelector: `${LABELS.app}=${input.app}` })
      .catch((err: unknown) => rethrowKubeError(err, `listing pods of ${input.app} in ${cluster}`));
    for (const pod of list.items) result.set(`${cluster}/${pod.metadata?.name}`, pod);
  }
  return result;
}
