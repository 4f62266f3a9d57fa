import http from 'node:http';
import https from 'node:https';
import {
  createConfiguration,
  ResponseContext,
  SelfDecodingBody,
  ServerConfiguration,
  wrapHttpLibrary,
  type Configuration,
  type HttpLibrary,
  type KubeConfig,
  type RequestContext,
  type SecurityAuthentication,
} from '@kubernetes/client-node';
import { clusterHealth } from './cluster-health.js';
import { callerSignal, KUBE_REQUEST_TIMEOUT_MS, KUBE_SILENCE_MS } from './deadlines.js';
import { ClusterUnavailable } from './errors.js';

/**
 * `kc.makeApiClient(Api)`, with two changes (and, with `impersonate`, every request made as that Kubernetes user):
 *
 * - The client keeps its TLS connections. client-node 1.x builds a fresh https.Agent for every request, so
 *   each call pays a TLS handshake on both ends; under a release that was the largest CPU cost of the worker
 *   and the API servers (profiled in bench/release). Requests are still authenticated by the kubeconfig as
 *   before; only the agent is swapped for one keep-alive agent per client, created from the same TLS options
 *   (CA, client certificate and key). The agent keeps the options of the first request: a client certificate
 *   rotated on disk is picked up when the process restarts.
 * - Every request has a deadline (KUBE_REQUEST_TIMEOUT_MS) and ends early when its caller gives up
 *   (`withKubeSignal`, an activity attempt cancelled). client-node 1.3's own HTTP library takes neither a
 *   timeout nor a signal (its RequestContext has no signal), so this client sends requests itself.
 *   Requests that get no answer fail with ClusterUnavailable naming the cluster (the kubeconfig context).
 */
export function makeApiClient<T>(kc: KubeConfig, api: new (config: Configuration) => T, opts: { impersonate?: string } = {}): T {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error(`kubeconfig context "${kc.getCurrentContext()}" has no cluster`);
  let agent: https.Agent | undefined;
  const auth: SecurityAuthentication = {
    getName: () => 'kubeconfig authentication, pooled connections',
    async applySecurityAuthentication(context: RequestContext) {
      await kc.applySecurityAuthentication(context);
      // acting for a tenant: the API server authorizes the request as that tenant's user (activities/clusters.ts)
      if (opts.impersonate) context.setHeaderParam('Impersonate-User', opts.impersonate);
      const fresh = context.getAgent();
      // proxies and plain HTTP keep client-node's own agent
      if (!(fresh instanceof https.Agent) || fresh.constructor !== https.Agent) return;
      agent ??= new https.Agent({ ...fresh.options, keepAlive: true, maxSockets: 64 });
      context.setAgent(agent);
    },
  };
  return new api(
    createConfiguration({
      baseServer: new ServerConfiguration(cluster.server, {}),
      authMethods: { default: auth },
      httpApi: deadlineHttpLibrary(kc.getCurrentContext()),
    }),
  );
}

/**
 * A request as it is sent: which cluster, what, and the body's content type (`application/apply-patch+yaml`: an
 * apply). `status` is filled in on the same object when an answer arrives; it stays unset for a request never answered.
 */
export interface KubeRequest {
  cluster: string;
  method: string;
  path: string;
  contentType: string | undefined;
  status?: number;
}

const observers = new Set<(request: KubeRequest) => void>();

/**
 * Calls `listener` with every request this process sends through `makeApiClient`, as it is sent, whether or not
 * it is ever answered (tests and benches count writes with it). Returns the function that stops it.
 */
export function observeKubeRequests(listener: (request: KubeRequest) => void): () => void {
  observers.add(listener);
  return () => observers.delete(listener);
}

/** Sends each request with a deadline and the caller's signal; reports answers and silences to the cluster's health. */
function deadlineHttpLibrary(cluster: string): HttpLibrary {
  return wrapHttpLibrary({
    async send(request: RequestContext): Promise<ResponseContext> {
      const url = new URL(request.getUrl());
      const what = `${request.getHttpMethod()} ${url.pathname}`;
      const deadline = AbortSignal.timeout(KUBE_REQUEST_TIMEOUT_MS);
      const caller = callerSignal();
      if (caller?.aborted) throw caller.reason; // given up already: nothing is sent
      const signal = caller ? AbortSignal.any([deadline, caller]) : deadline;
      const health = clusterHealth(cluster);
      const startedAt = Date.now();
      const end = health.begin(startedAt);
      const sent: KubeRequest = {
        cluster,
        method: request.getHttpMethod(),
        path: url.pathname,
        contentType: request.getHeaders()['Content-Type'],
      };
      for (const observe of observers) observe(sent);
      try {
        const res = await exchange(url, request, signal, () => health.answered());
        sent.status = res.status;
        return new ResponseContext(res.status, res.headers, new SelfDecodingBody(Promise.resolve(res.body)));
      } catch (err) {
        if (caller?.aborted) {
          // the caller gave up; a long wait still says something about the cluster
          if (Date.now() - startedAt >= KUBE_SILENCE_MS) health.failed('not-answering', startedAt, `no answer to ${what}`);
          throw caller.reason;
        }
        const trouble = deadline.aborted ? 'not-answering' : 'unreachable';
        const detail = deadline.aborted
          ? `no answer to ${what} within ${KUBE_REQUEST_TIMEOUT_MS / 1000}s`
          : `${what}: ${err instanceof Error ? err.message : String(err)}`;
        health.failed(trouble, startedAt, detail);
        throw new ClusterUnavailable(cluster, trouble, detail, { cause: err });
      } finally {
        end();
      }
    },
  });
}

/** One HTTP exchange, the full response body read; rejects on any transport error or when `signal` aborts. */
function exchange(
  url: URL,
  request: RequestContext,
  signal: AbortSignal,
  onAnswer: () => void,
): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const body = request.getBody();
    if (body !== undefined && typeof body !== 'string' && !(body instanceof URLSearchParams))
      return reject(new Error('multipart request bodies are not supported'));
    const payload = body?.toString();
    const headers: Record<string, string> = { ...request.getHeaders() };
    if (payload !== undefined) headers['Content-Length'] = String(Buffer.byteLength(payload));
    const transport = url.protocol === 'http:' ? http : https;
    const req = transport.request(url, { method: request.getHttpMethod(), headers, agent: request.getAgent(), signal }, (res) => {
      onAnswer();
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('close', () => {
        if (!res.complete) return reject(new Error('connection closed before the response was complete'));
        const flat: Record<string, string> = {};
        for (const [key, value] of Object.entries(res.headers)) if (value !== undefined) flat[key] = String(value);
        resolve({ status: res.statusCode ?? 0, headers: flat, body: Buffer.concat(chunks) });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}
