import http from 'node:http';
import https from 'node:https';
import { createInterface } from 'node:readline';
import { Watch, type KubeConfig } from '@kubernetes/client-node';
import { clusterHealth } from './cluster-health.js';
import { callerSignal, KUBE_REQUEST_TIMEOUT_MS, KUBE_WATCH_TIMEOUT_SECONDS } from './deadlines.js';
import { ClusterUnavailable } from './errors.js';

type WatchCallback = (phase: string, apiObj: unknown, watchObj?: unknown) => void;

/**
 * client-node's Watch, with deadlines. client-node 1.3's Watch waits up to 30 s for the response to start and
 * then follows the stream for as long as the socket lives; an API server frozen with SIGSTOP keeps the socket
 * open (the kernel still answers TCP keepalives), so that watch never ends. This one:
 *
 * - gives up connecting after KUBE_REQUEST_TIMEOUT_MS,
 * - asks the server to end the watch after KUBE_WATCH_TIMEOUT_SECONDS (unless the caller gave `timeoutSeconds`),
 *   and gives it up itself when nothing has arrived for that long plus one request deadline,
 * - ends when its caller gives up (`withKubeSignal`, an activity attempt cancelled),
 * - reports answers and silences to the cluster's health (pause reasons name a silent cluster).
 *
 * `done(err)` is called once, when the watch ends by itself (null: the server closed it normally); not after
 * the caller aborts the returned controller. Watches of one kubeconfig share a keep-alive agent of their own,
 * so that they never take the sockets of ordinary requests.
 */
export class DeadlineWatch extends Watch {
  constructor(config: KubeConfig) {
    super(config);
  }

  override async watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: WatchCallback,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    const cluster = this.config.getCurrentContext();
    const server = this.config.getCurrentCluster()?.server;
    const controller = new AbortController();
    if (!server) {
      done(new Error(`kubeconfig context "${cluster}" has no cluster`));
      return controller;
    }
    const url = new URL(server + path);
    url.searchParams.set('watch', 'true');
    url.searchParams.set('timeoutSeconds', String(KUBE_WATCH_TIMEOUT_SECONDS));
    for (const [key, value] of Object.entries(queryParams)) if (value !== undefined) url.searchParams.set(key, String(value));
    const serverTimeoutMs = Number(url.searchParams.get('timeoutSeconds')) * 1000;

    const health = clusterHealth(cluster);
    const startedAt = Date.now();
    const endPending = health.begin(startedAt);
    const caller = callerSignal();
    let req: http.ClientRequest | undefined;
    let timer: NodeJS.Timeout | undefined;
    let lastDataAt = startedAt;
    let finished = false;
    const finish = (err: unknown, notify = true) => {
      if (finished) return;
      finished = true;
      endPending();
      clearTimeout(timer);
      caller?.removeEventListener('abort', onCallerAbort);
      controller.signal.removeEventListener('abort', onOwnerAbort);
      req?.destroy();
      if (!controller.signal.aborted) controller.abort();
      if (notify) done(err);
    };
    const onCallerAbort = () => finish(caller?.reason);
    const onOwnerAbort = () => finish(null, false);
    const giveUp = (detail: string, since: number) => {
      health.failed('not-answering', since, detail);
      finish(new ClusterUnavailable(cluster, 'not-answering', detail));
    };
    caller?.addEventListener('abort', onCallerAbort);
    controller.signal.addEventListener('abort', onOwnerAbort);
    if (caller?.aborted) {
      finish(caller.reason);
      return controller;
    }

    let opts: https.RequestOptions = {};
    try {
      await this.config.applyToHTTPSOptions(opts);
      opts = { ...opts, agent: watchAgent(this.config, opts.agent) };
    } catch (err) {
      finish(err);
      return controller;
    }
    if (finished) return controller;

    await new Promise<void>((connected) => {
      timer = setTimeout(
        () => giveUp(`no answer to watch ${path} within ${KUBE_REQUEST_TIMEOUT_MS / 1000}s`, startedAt),
        KUBE_REQUEST_TIMEOUT_MS,
      );
      controller.signal.addEventListener('abort', () => connected());
      const transport = url.protocol === 'http:' ? http : https;
      req = transport.request(url, { ...opts, method: 'GET' }, (res) => {
        health.answered();
        endPending();
        connected();
        if (res.statusCode !== 200) {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('close', () => {
            const err = new Error(`watch ${path}: HTTP ${res.statusCode}: ${Buffer.concat(chunks).toString().slice(0, 500)}`);
            finish(Object.assign(err, { statusCode: res.statusCode }));
          });
          return;
        }
        // silent for longer than the server's own timeout: the server is not there any more
        const idleMs = serverTimeoutMs + KUBE_REQUEST_TIMEOUT_MS;
        const armIdle = () => {
          clearTimeout(timer);
          timer = setTimeout(() => giveUp(`watch ${path} silent for ${Math.round(idleMs / 1000)}s`, lastDataAt), idleMs);
        };
        armIdle();
        const lines = createInterface({ input: res });
        lines.on('line', (line) => {
          lastDataAt = Date.now();
          health.answered(lastDataAt);
          armIdle();
          let event: { type: string; object: unknown };
          try {
            event = JSON.parse(line) as { type: string; object: unknown };
          } catch {
            return; // a torn line: the watch ends and is renewed
          }
          callback(event.type, event.object, event);
        });
        lines.on('error', (err) => finish(err)); // readline re-emits the response's errors
        res.on('error', (err) => finish(err));
        res.on('close', () => finish(res.complete ? null : new Error(`watch ${path}: connection closed`)));
      });
      req.on('error', (err) => {
        if (finished) return;
        const detail = `watch ${path}: ${err.message}`;
        health.failed('unreachable', startedAt, detail);
        finish(new ClusterUnavailable(cluster, 'unreachable', detail, { cause: err }));
        connected();
      });
      req.end();
    });
    return controller;
  }
}

const agents = new WeakMap<KubeConfig, http.Agent>();

/** One keep-alive agent per kubeconfig for watches, from the TLS options client-node built for this request. */
function watchAgent(kc: KubeConfig, fresh: http.Agent | boolean | undefined): http.Agent | boolean | undefined {
  // proxies keep client-node's own agent
  if (!(fresh instanceof https.Agent) || fresh.constructor !== https.Agent) return fresh;
  let agent = agents.get(kc);
  if (!agent) agents.set(kc, (agent = new https.Agent({ ...fresh.options, keepAlive: true })));
  return agent;
}
