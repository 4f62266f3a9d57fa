import { AppsV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { kubeConfigsByContext } from '../worker/kube/contexts.js';
import { ApplicationFailure } from '@temporalio/common';
import { FailureTypes } from '../domain/failures.js';
import { makeApiClient } from '../worker/kube/api-client.js';
import { PodCache } from '../worker/kube/pod-cache.js';
import { WorkloadWatch } from '../worker/kube/workload-watch.js';

export interface ClusterClient {
  name: string;
  kc: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
  /** The worker's one watch of Barista's pods in this cluster, shared by every wait (worker/kube/pod-cache.ts). */
  pods?: PodCache;
  /** The worker's one watch of Barista's StatefulSets here: when a waiting step reads its workload again. */
  workloads?: WorkloadWatch;
}

/**
 * The clusters Barista may change: one kubeconfig, one context per cluster, named after the cluster.
 * The worker builds it from its configuration; tests hand in the sandbox's kubeconfig.
 */
/**
 * The Kubernetes user Barista acts as in a tenant's namespaces (impersonated by the worker). RBAC grants it the
 * `barista-tenant` ClusterRole in the namespaces of that tenant only (activities/tenant-access.ts), so the API
 * server itself refuses a request for one tenant that touches another's namespace.
 */
export function tenantUser(tenant: string): string {
  return `barista:tenant:${tenant}`;
}

export class Clusters {
  private readonly clients = new Map<string, ClusterClient>();
  private readonly tenantClients = new Map<string, ClusterClient>();

  /**
   * `source`: a kubeconfig file (one context per cluster, named after it), or the clusters' KubeConfigs by name (a
   * cluster agent's one cluster, whatever its kubeconfig calls its context: worker/agent.ts).
   */
  constructor(source: string | ReadonlyMap<string, KubeConfig>) {
    for (const [name, kc] of typeof source === 'string' ? kubeConfigsByContext(source) : source) {
      const core = makeApiClient(kc, CoreV1Api);
      const apps = makeApiClient(kc, AppsV1Api);
      this.clients.set(name, { name, kc, core, apps, pods: new PodCache(kc, core), workloads: new WorkloadWatch(kc, apps) });
    }
  }

  /** Ends the shared pod and workload watches (with the worker). */
  async stop(): Promise<void> {
    await Promise.all([...this.clients.values()].flatMap((c) => [c.pods?.stop(), c.workloads?.stop()]));
  }

  names(): string[] {
    return [...this.clients.keys()];
  }

  /**
   * Cluster `name` as tenant `tenant` sees it: reads and writes are made as tenantUser(tenant). Only the shared
   * pod cache and watches of pods read with the worker's own identity.
   */
  forTenant(name: string, tenant: string): ClusterClient {
    const key = `${name}\u0000${tenant}`;
    let client = this.tenantClients.get(key);
    if (!client) {
      const base = this.get(name);
      const impersonate = tenantUser(tenant);
      client = {
        ...base,
        core: makeApiClient(base.kc, CoreV1Api, { impersonate }),
        apps: makeApiClient(base.kc, AppsV1Api, { impersonate }),
      };
      this.tenantClients.set(key, client);
    }
    return client;
  }

  get(name: string): ClusterClient {
    const client = this.clients.get(name);
    if (!client)
      throw ApplicationFailure.nonRetryable(
        `cluster "${name}" is not configured for this worker (known: ${this.names().join(', ')})`,
        FailureTypes.unknownCluster,
      );
    return client;
  }
}
