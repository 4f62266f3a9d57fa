import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { PrometheusClient } from '../../activities/checks/prometheus-client.js';
import { measurePrometheusCheck } from '../../activities/checks/prometheus-check.js';
import { PrometheusCheckSchema, type CheckContext } from '../../domain/index.js';
import { connectSandbox } from '../support/sandbox.js';

/** One `prometheus` measurement against the sandbox's real Prometheus: what each kind of answer decides. */
let prometheus: PrometheusClient;
beforeAll(async () => {
  const { info } = await connectSandbox();
  if (!info.prometheusUrl) throw new Error('the sandbox runs no Prometheus');
  // what each answer decides, not how fast: a CI run once had the sandbox's Prometheus take over 10 s (the
  // product's deadline) over `vector(NaN)`; a slow answer is its own test below
  prometheus = new PrometheusClient(info.prometheusUrl, 60_000);
});

const ctx: CheckContext = {
  tenant: 'acme',
  app: 'pay',
  namespace: 'acme-prod',
  revision: 3,
  previousRevision: 2,
  group: 0,
  cells: ['rz01a'],
  pods: ['pay-rz01a-1'],
  releaseId: 'release/acme/pay',
};
const measure = (
  query: string,
  o: { successCondition?: string; failureCondition?: string } = {},
  client: PrometheusClient | undefined = prometheus,
) =>
  measurePrometheusCheck(
    PrometheusCheckSchema.parse({
      type: 'prometheus',
      name: 'q',
      query,
      successCondition: o.successCondition ?? 'result < 0.01',
      ...(o.failureCondition ? { failureCondition: o.failureCondition } : {}),
    }),
    ctx,
    client,
  );

test.each([
  ['vector(0.001)', {}, { decision: 'pass', value: '0.001000' }],
  ['vector(0.2)', {}, { decision: 'fail', value: '0.2000', reason: 'result < 0.01 does not hold' }],
  ['scalar(vector(0.2))', {}, { decision: 'fail' }],
  [
    'vector(0.03)',
    { failureCondition: 'result > 0.05' },
    { decision: 'inconclusive', reason: 'neither result < 0.01 nor result > 0.05 holds' },
  ],
  ['vector(NaN)', {}, { decision: 'inconclusive', reason: expect.stringMatching(/NaN/) }],
  ['up{job="no-such-job"}', {}, { decision: 'inconclusive', reason: expect.stringMatching(/^no data: the query matched no series/) }],
  ['up[1m]', {}, { decision: 'inconclusive', reason: expect.stringMatching(/answers a matrix/) }],
  ['sum(rate(x[1m])', {}, { decision: 'inconclusive', reason: expect.stringMatching(/^Prometheus refused the query: .*parse error/) }],
  [
    'vector(0.001) or label_replace(vector(0.5), "pod", "pay-rz01a-1", "", "")',
    {},
    { decision: 'fail', value: '0.5000 at {pod="pay-rz01a-1"} (2 series)' },
  ],
])('%s %j → %j', async (query, o, expected) => {
  expect(await measure(query, o)).toMatchObject(expected);
});

test('placeholders are filled before the query runs', async () => {
  const m = await measure('label_replace(vector(0.001), "app", "{{app}}-{{revision}}", "", "")');
  expect(m).toMatchObject({ decision: 'pass', value: '0.001000' });
});

test('an unreachable Prometheus, or none configured, is inconclusive with the reason; never a pass', async () => {
  expect(await measure('vector(0)', {}, new PrometheusClient('http://127.0.0.1:9', 2000))).toMatchObject({
    decision: 'inconclusive',
    reason: expect.stringMatching(/^Prometheus at http:\/\/127\.0\.0\.1:9 is unreachable: /),
  });
  const check = PrometheusCheckSchema.parse({ type: 'prometheus', name: 'q', query: 'vector(0)', successCondition: 'result < 0.01' });
  expect(await measurePrometheusCheck(check, ctx, undefined)).toMatchObject({
    decision: 'inconclusive',
    reason: expect.stringMatching(/BARISTA_PROMETHEUS_URL/),
  });
});

test('a Prometheus that stalls, before its headers or in the middle of its answer, is inconclusive: no answer within the deadline', async () => {
  const sockets = new Set<Socket>();
  // under /half: the headers and the start of a JSON answer, then nothing; elsewhere nothing at all
  const stalling: Server = createServer((req, res) => {
    if (req.url?.startsWith('/half/')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"status":"success","da');
    }
  });
  stalling.on('connection', (s) => sockets.add(s));
  await new Promise<void>((r) => stalling.listen(0, '127.0.0.1', r));
  const { port } = stalling.address() as AddressInfo;
  try {
    for (const path of ['', '/half']) {
      const url = `http://127.0.0.1:${port}${path}`;
      expect(await measure('vector(0)', {}, new PrometheusClient(url, 500))).toEqual({
        decision: 'inconclusive',
        reason: `Prometheus at ${url} is unreachable: no answer within 0.5s`,
      });
    }
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise((r) => stalling.close(r));
  }
});
