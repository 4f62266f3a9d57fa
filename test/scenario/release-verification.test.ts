import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifySignature } from '../../activities/checks/signature.js';
import { TicketClient } from '../../api/ticket-client.js';
import type { CheckInput } from '../../domain/index.js';
import { uniqueName } from '../support/sandbox.js';
import { appPods, imageOf, startReleaseHarness, waitForStatus, type ReleaseHarness } from '../support/release-harness.js';
import { appSpec } from '../support/app-spec.js';
import type { ReleaseStatus } from '../../workflows/release-status.js';

/**
 * Verification gates on the real sandbox: the sandbox's request simulator serves per-pod request counts, errors
 * and latency histograms (labelled with pod, cell and revision) to a real Prometheus; a sandbox fault makes a
 * revision answer errors or slowly. The checks ask that Prometheus, or a webhook served by this test.
 */
const SECRET = 'verification-test-secret';
let h: ReleaseHarness;
beforeAll(async () => {
  h = await startReleaseHarness({ webhookSecret: SECRET });
});
afterAll(async () => {
  await h?.stop();
});

const ns = 'acme-prod';
const spec = (name: string, image: string) =>
  appSpec(name, image, { cells: ['rz01a', 'rz01b'], replicasPerCell: 2, traffic: ['service', 'rpc', 'dns'].map((c) => ({ name: c })) });

/** An App at revision 1 everywhere, its revision 2 registered; returns its name. */
async function appWithNextRevision(prefix: string): Promise<string> {
  const app = uniqueName(prefix);
  await h.releases.upsertApp(spec(app, `registry.local/${app}:1`), 'alice');
  const first = await h.releases.startRelease({ app, tenant: 'acme', requestedBy: 'alice', strategy: { groups: 1 } });
  expect((await h.releases.result(first)).state).toBe('succeeded');
  await h.releases.upsertApp(spec(app, `registry.local/${app}:2`), 'alice');
  return app;
}

/** Share of the new revision's requests that failed over the last 10 s, from the simulator's counters. */
const errorRatio = (o: Partial<CheckInput> = {}): CheckInput =>
  ({
    type: 'prometheus',
    name: 'error-rate',
    query:
      'sum(rate(http_requests_total{namespace="{{namespace}}",app="{{app}}",revision="{{revision}}",code=~"5.."}[10s])) / sum(rate(http_requests_total{namespace="{{namespace}}",app="{{app}}",revision="{{revision}}"}[10s]))',
    successCondition: 'result < 0.05',
    initialDelaySeconds: 5,
    intervalSeconds: 3,
    count: 2,
    ...o,
  }) as CheckInput;

const gate0 = (s: ReleaseStatus) => s.gates.find((g) => g.group === 0)!;

test('a revision answering 20 % errors fails the prometheus check and is rolled back: every pod back on the old image', async () => {
  const app = await appWithNextRevision('verify-bad');
  await h.sandbox.control.setRevisionFault({ app, revision: 2, errorPercent: 20 });
  try {
    const ref = await h.releases.startRelease({
      app,
      tenant: 'acme',
      requestedBy: 'alice',
      strategy: { groups: 2, onFailure: 'rollback', gate: { type: 'auto', windowSeconds: 1, checks: [errorRatio()] } },
    });
    const final = await h.releases.result(ref);
    expect(final.state).toBe('rolled-back');
    const check = gate0(final).checks?.[0];
    expect(check).toMatchObject({ name: 'error-rate', state: 'failed' });
    // what Prometheus measured: about a fifth of the requests failed
    expect(Number(check!.measurements[0]!.value)).toBeGreaterThan(0.1);
    expect(final.audit.find((a) => a.action === 'rollback-started')?.detail).toMatch(
      /verification of group 0 failed: prometheus check "error-rate"/,
    );
    const pods = await appPods(h.sandbox, 'kc2', ns, app);
    expect(pods).toHaveLength(4);
    expect(pods.map(imageOf)).toEqual(pods.map(() => `registry.local/${app}:1`));
  } finally {
    await h.sandbox.control.clearRevisionFault({ app, revision: 2 });
  }
});

test('a healthy revision passes the same check and the release goes on by itself', async () => {
  const app = await appWithNextRevision('verify-good');
  const ref = await h.releases.startRelease({
    app,
    tenant: 'acme',
    requestedBy: 'alice',
    strategy: { groups: 2, onFailure: 'rollback', gate: { type: 'auto', windowSeconds: 1, checks: [errorRatio()] } },
  });
  const final = await h.releases.result(ref);
  expect(final.state).toBe('succeeded');
  expect(gate0(final).checks?.[0]?.measurements.map((m) => m.decision)).toEqual(['pass', 'pass']);
  expect(Number(gate0(final).checks?.[0]?.measurements[0]?.value)).toBeLessThan(0.05);
});

test('a revision 200 ms slower fails compare, while a fixed p90 threshold set too loose (1 s) passes it', async () => {
  const app = await appWithNextRevision('verify-slow');
  await h.sandbox.control.setRevisionFault({ app, revision: 2, latencyMs: 200 });
  try {
    const loose: CheckInput = {
      type: 'prometheus',
      name: 'loose-p90',
      query:
        'histogram_quantile(0.9, sum by (le) (rate(http_request_duration_seconds_bucket{namespace="{{namespace}}",app="{{app}}",revision="{{revision}}"}[15s])))',
      successCondition: 'result < 1',
      initialDelaySeconds: 12,
      count: 1,
    };
    const compare: CheckInput = { type: 'compare', name: 'vs-old', windowSeconds: 15, initialDelaySeconds: 12, count: 1 };
    const ref = await h.releases.startRelease({
      app,
      tenant: 'acme',
      requestedBy: 'alice',
      strategy: { groups: 2, gate: { type: 'auto', windowSeconds: 1, checks: [loose, compare] } },
    });
    const paused = await waitForStatus(h.releases, ref, 'paused by compare', (s) => s.state === 'paused', 120_000);
    expect(paused.paused?.check).toMatchObject({ name: 'vs-old', type: 'compare', state: 'failed' });
    expect(paused.paused?.reason).toMatch(/90th percentile latency more than 20 % above the old revision's/);
    const checks = gate0(paused).checks!;
    expect(checks.find((c) => c.name === 'loose-p90')?.measurements.map((m) => m.decision)).toEqual(['pass']);
    await h.releases.act(ref, 'abort', { by: 'oncall', reason: 'slow build' });
    await h.releases.result(ref);
  } finally {
    await h.sandbox.control.clearRevisionFault({ app, revision: 2 });
  }
});

test('Prometheus stopped during a gate makes the check inconclusive: the release pauses naming it, and resumes once it is back', async () => {
  const app = await appWithNextRevision('verify-noprom');
  const ref = await h.releases.startRelease({
    app,
    tenant: 'acme',
    requestedBy: 'alice',
    strategy: {
      groups: 2,
      onFailure: 'rollback',
      gate: { type: 'auto', windowSeconds: 1, checks: [errorRatio({ initialDelaySeconds: 8 })] },
    },
  });
  await waitForStatus(h.releases, ref, 'verifying', (s) => s.state === 'verifying' && gate0(s).checks !== undefined, 60_000);
  await h.sandbox.control.stopPrometheus();
  let paused: ReleaseStatus;
  try {
    paused = await waitForStatus(h.releases, ref, 'paused inconclusive', (s) => s.state === 'paused', 60_000);
  } finally {
    await h.sandbox.control.startPrometheus();
  }
  expect(paused.paused?.reason).toMatch(/^verification of group 0 was inconclusive: prometheus check "error-rate" .* was inconclusive/);
  expect(paused.paused?.check?.reason).toMatch(/Prometheus at http:\/\/127\.0\.0\.1:\d+ is unreachable/);
  await h.releases.act(ref, 'resume', { by: 'oncall', reason: 'Prometheus is back' });
  const final = await h.releases.result(ref);
  expect(final.state).toBe('succeeded');
  expect(gate0(final).checks?.[0]).toMatchObject({ round: 2, state: 'passed' });
});

test('a webhook answering fail, timing out, answering garbage, then pass: fail, inconclusive, inconclusive, pass; every request signed', async () => {
  let mode: 'fail' | 'hang' | 'garbage' | 'pass' = 'fail';
  const seen: { verified: boolean; body: Record<string, unknown> }[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const headers = {
        timestamp: req.headers[TIMESTAMP_HEADER] as string | undefined,
        signature: req.headers[SIGNATURE_HEADER] as string | undefined,
      };
      seen.push({ verified: verifySignature(SECRET, headers, body), body: JSON.parse(body) as Record<string, unknown> });
      if (mode === 'hang') return; // never answers: the check's timeout ends it
      if (mode === 'garbage') return res.writeHead(200).end('<html>oops</html>');
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ result: mode, reason: `the hook says ${mode}` }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/verify`;
  try {
    const app = await appWithNextRevision('verify-hook');
    const hook: CheckInput = { type: 'webhook', name: 'hook', url, timeoutSeconds: 1, retries: 1, count: 1 };
    const ref = await h.releases.startRelease({
      app,
      tenant: 'acme',
      requestedBy: 'alice',
      strategy: { groups: 2, gate: { type: 'auto', windowSeconds: 1, checks: [hook] } },
    });
    const pausedWith = async (round: number) => {
      const s = await waitForStatus(
        h.releases,
        ref,
        `paused after round ${round}`,
        (x) => x.state === 'paused' && gate0(x).checks?.[0]?.round === round,
        60_000,
      );
      return s.paused!;
    };
    expect(await pausedWith(1)).toMatchObject({ check: { state: 'failed', reason: 'the hook says fail' } });
    mode = 'hang';
    await h.releases.act(ref, 'resume', { by: 'oncall' });
    expect(await pausedWith(2)).toMatchObject({
      check: { state: 'inconclusive', reason: 'the webhook gave no answer within 1s (2 attempts)' },
    });
    mode = 'garbage';
    await h.releases.act(ref, 'resume', { by: 'oncall' });
    expect((await pausedWith(3)).check?.reason).toMatch(
      /^the webhook's answer is not JSON \("<html>oops<\/html>"\); expected JSON \{"result"/,
    );
    mode = 'pass';
    await h.releases.act(ref, 'resume', { by: 'oncall' });
    expect((await h.releases.result(ref)).state).toBe('succeeded');
    expect(seen.length).toBeGreaterThanOrEqual(5);
    expect(seen.every((s) => s.verified)).toBe(true);
    expect(seen[0]!.body).toMatchObject({ check: 'hook', app, tenant: 'acme', revision: 2, previousRevision: 1, group: 0 });
  } finally {
    server.closeAllConnections();
    server.close();
  }
});

test('a query Prometheus cannot parse is refused at start naming the field; nothing starts', async () => {
  const app = await appWithNextRevision('verify-badq');
  await expect(
    h.releases.startRelease({
      app,
      tenant: 'acme',
      requestedBy: 'alice',
      strategy: { gate: { type: 'auto', checks: [errorRatio({ query: 'sum(rate(http_requests_total{app="{{app}}"}[1m])' })] } },
    }),
  ).rejects.toThrow(/strategy\.gate\.checks\[0\]\.query: not valid PromQL: .*parse error/);
  await expect(
    h.releases.startRelease({
      app,
      tenant: 'acme',
      requestedBy: 'alice',
      strategy: { gate: { type: 'auto', checks: [{ type: 'compare', name: 'c', selector: 'app=={{app}}' }] } },
    }),
  ).rejects.toThrow(/strategy\.gate\.checks\[0\] \(selector, metrics and errorMatcher\): not valid PromQL/);
  // a ticket's entries are checked the same way, before the ticket starts
  await expect(
    new TicketClient(h.releases).create(
      {
        tenant: 'acme',
        title: 'bad query',
        entries: [{ app, strategy: { gate: { type: 'manual', checks: [errorRatio({ query: 'rate(' })] } } }],
      },
      'alice',
    ),
  ).rejects.toThrow(/entries\[0\]\.strategy\.gate\.checks\[0\]\.query: not valid PromQL/);
  await expect(h.client.workflow.getHandle(`release/acme/${app}`).describe()).resolves.toMatchObject({ status: { name: 'COMPLETED' } });
});
