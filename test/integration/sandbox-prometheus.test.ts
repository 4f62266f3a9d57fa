import { AppsV1Api, CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { LABELS } from '../../activities/labels.js';
import { CELL_LABEL } from '../../sandbox/index.js';
import { connectSandbox, eventually, uniqueName, type TestSandbox } from '../support/sandbox.js';

/**
 * The sandbox's Prometheus scraping the simulated request metrics of real pods: StatefulSets whose pods carry
 * Barista's labels, routed by the sandbox's traffic components (rpc, dns) once Ready, as an App's pods are.
 */
let sandbox: TestSandbox;
let core: CoreV1Api;
let apps: AppsV1Api;
const namespace = uniqueName('prom');
const app = 'checkout';

beforeAll(async () => {
  sandbox = await connectSandbox();
  const kc = sandbox.kubeConfig('kc1');
  core = kc.makeApiClient(CoreV1Api);
  apps = kc.makeApiClient(AppsV1Api);
  await core.createNamespace({ body: { metadata: { name: namespace } } });
});

afterAll(async () => {
  await core?.deleteNamespace({ name: namespace }).catch(() => undefined);
});

/** Pods of `app` at `revision` in cell rz00a; `managed` pods are followed (and so routed) by the traffic components. */
async function createRevision(name: string, revision: string, replicas: number, managed = true): Promise<void> {
  const labels = {
    ...(managed ? { [LABELS.managedBy]: 'barista' } : {}),
    [LABELS.app]: app,
    [LABELS.cell]: 'rz00a',
    [LABELS.revision]: revision,
  };
  await apps.createNamespacedStatefulSet({
    namespace,
    body: {
      metadata: { name, labels },
      spec: {
        replicas,
        serviceName: name,
        podManagementPolicy: 'Parallel',
        selector: { matchLabels: { [LABELS.app]: app, [LABELS.revision]: revision } },
        template: {
          metadata: { labels },
          spec: { nodeSelector: { [CELL_LABEL]: 'rz00a' }, containers: [{ name: 'app', image: `registry.local/${app}:${revision}` }] },
        },
      },
    },
  });
}

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

async function query(expr: string): Promise<Sample[]> {
  const res = await fetch(`${sandbox.info.prometheusUrl}/api/v1/query?query=${encodeURIComponent(expr)}`, {
    signal: AbortSignal.timeout(5_000),
  });
  const body = (await res.json()) as { status: string; data?: { result: Sample[] }; error?: string };
  if (body.status !== 'success') throw new Error(`${expr}: ${body.error}`);
  return body.data!.result;
}

/** Value per revision of a `sum by (revision)` query. */
async function byRevision(expr: string): Promise<Record<string, number>> {
  return Object.fromEntries((await query(expr)).map((s) => [s.metric.revision ?? '', Number(s.value[1])]));
}

/** Polls a `by (revision)` query until `revision`'s value exceeds `bound` (within 20 s); returns every revision's. */
async function untilRevisionAbove(what: string, expr: string, revision: string, bound: number): Promise<Record<string, number>> {
  return eventually(
    what,
    async () => {
      const r = await byRevision(expr);
      return r[revision]! > bound ? r : undefined;
    },
    20_000,
  );
}

const sel = (extra = '') => `{namespace="${namespace}",app="${app}"${extra}}`;
const errorRatio = (window: string) =>
  `sum by (revision) (rate(http_requests_total${sel(',code="500"')}[${window}])) / sum by (revision) (rate(http_requests_total${sel()}[${window}]))`;
const medianLatency = (window: string) =>
  `histogram_quantile(0.5, sum by (le, revision) (rate(http_request_duration_seconds_bucket${sel()}[${window}])))`;

const routedAndReady = (p: V1Pod) =>
  (p.metadata?.finalizers ?? []).some((f) => f.startsWith('traffic.barista.dev/')) &&
  p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');

test('Prometheus scrapes per-pod requests of routed pods; a revision fault raises errors and latency of that revision only; Prometheus stops and starts', async () => {
  expect(sandbox.info.prometheusUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  await createRevision('checkout-r1', '1', 2);
  await createRevision('checkout-r2', '2', 2);
  // serving but never routed (no traffic component follows it): it receives no requests
  await createRevision('checkout-r9', '9', 1, false);
  await eventually(
    'four routed, ready pods',
    async () => {
      const pods = (await core.listNamespacedPod({ namespace, labelSelector: `${LABELS.managedBy}=barista` })).items;
      return pods.filter(routedAndReady).length === 4 ? true : undefined;
    },
    45_000,
  );

  const rates = await eventually(
    'request rates of both revisions in Prometheus (2 pods × 20 requests/s each)',
    async () => {
      // the first samples of a new series under-estimate the rate: wait for a full window
      const r = await byRevision(`sum by (revision) (rate(http_requests_total${sel()}[10s]))`);
      return r['1']! > 30 && r['2']! > 30 ? r : undefined;
    },
    30_000,
  );
  expect(rates['1']).toBeLessThan(50);
  expect(rates['2']).toBeLessThan(50);
  expect(rates['9']).toBeUndefined();

  // every series carries the pod, its cell, cluster and revision
  const series = await query(`http_requests_total${sel(',revision="1",code="200"')}`);
  expect(series.map((s) => s.metric.pod).sort()).toEqual(['checkout-r1-0', 'checkout-r1-1']);
  expect(series[0]!.metric).toMatchObject({ namespace, app, cell: 'rz00a', cluster: 'kc1', revision: '1', code: '200' });
  // healthy: 0.1 % errors (the 500 series exist from the start, so the ratio is a number, not "no data"); the
  // bound is loose because a young series holds a few hundred requests, where 4 errors already make 1 %
  const healthy = await byRevision(errorRatio('30s'));
  expect(healthy['1']).toBeLessThan(0.03);
  expect(healthy['2']).toBeLessThan(0.03);
  const latency = await byRevision(medianLatency('10s'));
  expect(latency['1']).toBeGreaterThan(0.01);
  expect(latency['1']).toBeLessThan(0.05);

  // bad input is refused; clearing a fault that is not set names the problem
  await expect(sandbox.control.setRevisionFault({ namespace, app, revision: '2', errorPercent: 150 })).rejects.toThrow(/400.*errorPercent/);
  await expect(sandbox.control.clearRevisionFault({ namespace, app, revision: '2' })).rejects.toThrow(/404.*no revision fault/);

  const fault = await sandbox.control.setRevisionFault({ namespace, app, revision: 2, errorPercent: 50, latencyMs: 200 });
  expect(fault).toEqual({ namespace, app, revision: '2', errorPercent: 50, latencyMs: 200 });
  expect(await sandbox.control.revisionFaults()).toContainEqual(fault);
  const faulty = await untilRevisionAbove('the error ratio of revision 2 to rise', errorRatio('5s'), '2', 0.3);
  expect(faulty['2']).toBeLessThan(0.7);
  expect(faulty['1']).toBeLessThan(0.05);
  // the latency rises with the errors, but a 5 s window read at the moment the errors crossed 30 % may still
  // hold as many requests from before the fault as after it: the median is read once the window is past them
  const slow = await untilRevisionAbove('the median latency of revision 2 to rise', medianLatency('5s'), '2', 0.2);
  expect(slow['1']).toBeLessThan(0.05);
  expect(await sandbox.control.clearRevisionFault({ namespace, app, revision: '2' })).toEqual(fault);

  // a deleted pod's series go (bounded cardinality): Prometheus marks them stale at the next scrape
  await apps.patchNamespacedStatefulSetScale({
    name: 'checkout-r1',
    namespace,
    body: [{ op: 'replace', path: '/spec/replicas', value: 1 }],
  });
  await eventually(
    'the series of the removed pod to end',
    async () => ((await query(`http_requests_total${sel(',pod="checkout-r1-1"')}`)).length === 0 ? true : undefined),
    30_000,
  );

  await sandbox.control.stopPrometheus();
  await expect(query('up')).rejects.toMatchObject({ cause: expect.objectContaining({ code: 'ECONNREFUSED' }) });
  await sandbox.control.startPrometheus();
  // same address, same data: the series scraped before the stop are still there
  expect((await query(`count(http_requests_total${sel(',revision="2"')})`)).length).toBe(1);
  const again = await eventually(
    'requests rates after the restart',
    async () => {
      const r = await byRevision(`sum by (revision) (rate(http_requests_total${sel()}[5s]))`);
      return r['2']! > 0 ? r : undefined;
    },
    20_000,
  );
  expect(again['2']).toBeGreaterThan(20);
});
