import type { Trouble } from './cluster-health.js';

/**
 * A Kubernetes request that got no answer: the API server did not answer within its deadline
 * (`not-answering`: frozen, overloaded, packets dropped) or could not be reached (`unreachable`: refused,
 * reset). Transient: the caller retries, or pauses naming the cluster once its budget is spent.
 */
export class ClusterUnavailable extends Error {
  override readonly name = 'ClusterUnavailable';
  /** `detail`: what failed, without the cluster ("no answer to GET /api/v1/nodes within 10s"). */
  constructor(
    readonly cluster: string,
    readonly trouble: Trouble,
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(`cluster ${cluster}: ${detail}`, options);
  }
}
