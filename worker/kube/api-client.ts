import https from 'node:https';
import {
  createConfiguration,
  ServerConfiguration,
  type Configuration,
  type KubeConfig,
  type RequestContext,
  type SecurityAuthentication,
} from '@kubernetes/client-node';

/**
 * `kc.makeApiClient(Api)`, but the client keeps its TLS connections. client-node 1.x builds a fresh
 * https.Agent for every request, so each call pays a TLS handshake on both ends; under a release that was
 * the largest CPU cost of the worker and the API servers (profiled in bench/release). Requests are still
 * authenticated by the kubeconfig as before; only the agent is swapped for one keep-alive agent per client,
 * created from the same TLS options (CA, client certificate and key). The agent keeps the options of the
 * first request: a client certificate rotated on disk is picked up when the process restarts.
 */
export function makeApiClient<T>(kc: KubeConfig, api: new (config: Configuration) => T): T {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error(`kubeconfig context "${kc.getCurrentContext()}" has no cluster`);
  let agent: https.Agent | undefined;
  const auth: SecurityAuthentication = {
    getName: () => 'kubeconfig authentication, pooled connections',
    async applySecurityAuthentication(context: RequestContext) {
      await kc.applySecurityAuthentication(context);
      const fresh = context.getAgent();
      // proxies and plain HTTP keep client-node's own agent
      if (!(fresh instanceof https.Agent) || fresh.constructor !== https.Agent) return;
      agent ??= new https.Agent({ ...fresh.options, keepAlive: true, maxSockets: 64 });
      context.setAgent(agent);
    },
  };
  return new api(createConfiguration({ baseServer: new ServerConfiguration(cluster.server, {}), authMethods: { default: auth } }));
}
