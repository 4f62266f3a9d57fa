import type { CheckInput } from '../../domain/index.js';
import type { ReleaseStatus } from '../../workflows/release-status.js';
import { startWorkflowTestEnv, until, type WorkflowTestEnv } from './workflow-env.js';

/**
 * Gate checks on the real AppRelease workflow (time-skipping test server, measurements scripted by the fake
 * measureCheck): how measurements add up to pass, fail or inconclusive, and what each does to the release. The
 * checks themselves (PromQL, webhooks, compare) run against real servers in test/scenario/release-verification.
 */
let w: WorkflowTestEnv;
beforeAll(async () => {
  w = await startWorkflowTestEnv();
}, 120_000);
afterAll(async () => {
  await w?.stop();
});

let n = 0;
const errorRate = (o: Partial<CheckInput> = {}): CheckInput =>
  ({
    type: 'prometheus',
    name: `err-${n}`,
    query: 'sum(rate(errors{app="{{app}}"}[1m]))',
    successCondition: 'result < 0.01',
    intervalSeconds: 1,
    count: 3,
    ...o,
  }) as CheckInput;

async function release(o: { gate: Record<string, unknown>; onFailure?: 'pause' | 'rollback'; revisions?: number }) {
  const app = `verify-${++n}`;
  await w.registerApp(app, { revisions: o.revisions ?? 2, replicas: 2 });
  const ref = await w.releases.startRelease({
    app,
    tenant: 'acme',
    requestedBy: 'alice',
    strategy: { groups: 2, gate: o.gate, onFailure: o.onFailure ?? 'pause' },
  });
  return { app, ref };
}
const script = (name: string, ...decisions: ('pass' | 'fail' | 'inconclusive')[]) =>
  w.checkOutcomes.set(
    name,
    decisions.map((decision) => ({ decision, value: decision === 'fail' ? '0.2' : '0.001', reason: `scripted ${decision}` })),
  );
const gate0 = (s: ReleaseStatus) => s.gates.find((g) => g.group === 0)!;

test('an auto gate whose check passes every measurement lets the release go on; each measurement is in the status and the audit trail', async () => {
  const check = errorRate();
  const { app, ref } = await release({ gate: { type: 'auto', windowSeconds: 1, checks: [check] } });
  const final = await w.releases.result(ref);
  expect(final.state).toBe('succeeded');
  expect(gate0(final)).toMatchObject({ state: 'passed', decidedBy: 'barista' });
  expect(gate0(final).reason).toMatch(/checks passed: "err-\d+" 3\/3 passed/);
  expect(gate0(final).checks).toEqual([
    expect.objectContaining({
      name: check.name,
      type: 'prometheus',
      state: 'passed',
      round: 1,
      measurements: [expect.anything(), expect.anything(), expect.anything()],
    }),
  ]);
  expect(final.audit.filter((a) => a.action === 'check-measured')).toHaveLength(3);
  // the context the check was templated with: the group's pods, the new and the old revision
  const contexts = w.measured.filter((m) => m.check === check.name).map((m) => m.context);
  expect(contexts[0]).toMatchObject({ app, tenant: 'acme', revision: 2, previousRevision: 1, group: 0, cells: ['rz00a'] });
  expect(contexts[0]?.pods).toEqual([expect.stringMatching(new RegExp(`^${app}-rz00a-[01]$`))]);
});

test('a failed check with onFailure rollback rolls the release back; the gate names the check and its value', async () => {
  const check = errorRate({ name: 'error-rate' });
  script('error-rate', 'fail');
  const { ref } = await release({ gate: { type: 'auto', windowSeconds: 1, checks: [check] }, onFailure: 'rollback' });
  const final = await w.releases.result(ref);
  expect(final.state).toBe('rolled-back');
  expect(gate0(final).state).toBe('failed');
  expect(gate0(final).reason).toMatch(
    /prometheus check "error-rate" \(query .*\) failed: 1 of 1 measurements failed; last: 0.2, scripted fail/,
  );
  expect(final.audit.find((a) => a.action === 'rollback-started')?.detail).toMatch(
    /^to revision 1: verification of group 0 failed: prometheus check "error-rate"/,
  );
});

test('a failed check with onFailure pause pauses naming the check, query and value; resume measures again (round 2) and passes', async () => {
  const check = errorRate({ name: 'latency', failureLimit: 1, count: 3 });
  script('latency', 'fail', 'fail');
  const { ref } = await release({ gate: { type: 'auto', windowSeconds: 1, checks: [check] } });
  const paused = await until(w.releases, ref, 'paused on the check', (s) => s.state === 'paused', 30_000);
  expect(paused.paused).toMatchObject({
    step: 'gate',
    reason: expect.stringMatching(/^verification of group 0 failed: prometheus check "latency" .* failed: 2 of 2 measurements failed/),
    check: {
      name: 'latency',
      type: 'prometheus',
      state: 'failed',
      query: check.type === 'prometheus' ? check.query : '',
      value: '0.2',
      reason: 'scripted fail',
    },
  });
  await w.releases.act(ref, 'resume', { by: 'bob', reason: 'metrics fixed' });
  const final = await w.releases.result(ref);
  expect(final.state).toBe('succeeded');
  expect(gate0(final).checks?.[0]).toMatchObject({ round: 2, state: 'passed' });
});

test('inconclusive never passes and never rolls back: the release pauses with the reason even under onFailure rollback', async () => {
  script('flaky-source', 'inconclusive');
  const { ref } = await release({
    gate: { type: 'auto', windowSeconds: 1, checks: [errorRate({ name: 'flaky-source' })] },
    onFailure: 'rollback',
  });
  const paused = await until(w.releases, ref, 'paused inconclusive', (s) => s.state === 'paused', 30_000);
  expect(paused.paused?.reason).toMatch(
    /^verification of group 0 was inconclusive: prometheus check "flaky-source" .* was inconclusive: 1 of 1 measurements inconclusive; last: 0.001, scripted inconclusive/,
  );
  expect(paused.paused?.check?.state).toBe('inconclusive');
  expect(paused.audit.some((a) => a.action === 'gate-inconclusive')).toBe(true);
  await w.releases.act(ref, 'abort', { by: 'bob', reason: 'look at the monitoring first' });
  expect((await w.releases.result(ref)).state).toBe('aborted');
});

test('failureLimit tolerates that many failed measurements; inconclusiveLimit likewise', async () => {
  script('tolerant', 'fail', 'inconclusive', 'pass', 'pass');
  const { ref } = await release({
    gate: { type: 'auto', windowSeconds: 1, checks: [errorRate({ name: 'tolerant', count: 4, failureLimit: 1, inconclusiveLimit: 1 })] },
  });
  const final = await w.releases.result(ref);
  expect(final.state).toBe('succeeded');
  expect(gate0(final).checks?.[0]?.measurements.map((m) => m.decision)).toEqual(['fail', 'inconclusive', 'pass', 'pass']);
});

test('two checks run side by side; the first to fail ends the round and the other stops measuring', async () => {
  script('slow-fail', 'pass', 'fail');
  const { ref } = await release({
    gate: {
      type: 'auto',
      windowSeconds: 1,
      checks: [
        errorRate({ name: 'slow-fail', count: 5 }),
        // Another interval than slow-fail's: the time-skipping server strands a run whose workflow task cancels a
        // timer that fired meanwhile (sdk-java#3088), and two 1 s timers started together fire together.
        { type: 'webhook', name: 'hook', url: 'http://127.0.0.1:9/x', intervalSeconds: 7, count: 50 },
      ],
    },
  });
  const paused = await until(w.releases, ref, 'paused on slow-fail', (s) => s.state === 'paused', 60_000);
  expect(paused.paused?.check?.name).toBe('slow-fail');
  const hook = gate0(paused).checks?.find((c) => c.name === 'hook');
  expect(hook?.state).toBe('running');
  expect(hook!.measurements.length).toBeLessThan(5);
  await w.releases.act(ref, 'abort', { by: 'bob' });
  await w.releases.result(ref);
});

test('a manual gate with checks asks a person only after they pass; a failing check pauses before anyone is asked', async () => {
  const ok = await release({ gate: { type: 'manual', checks: [errorRate({ name: 'pre-approval', count: 2 })] } });
  const asking = await until(w.releases, ok.ref, 'waiting for approval', (s) => s.state === 'waiting-approval', 30_000);
  expect(gate0(asking).checks?.[0]).toMatchObject({ state: 'passed' });
  expect(asking.audit.some((a) => a.action === 'checks-passed')).toBe(true);
  await w.releases.act(ok.ref, 'approve', { by: 'carol', group: 0 });
  expect((await w.releases.result(ok.ref)).state).toBe('succeeded');

  script('pre-approval-bad', 'fail');
  const bad = await release({ gate: { type: 'manual', checks: [errorRate({ name: 'pre-approval-bad' })] } });
  const paused = await until(w.releases, bad.ref, 'paused before asking', (s) => s.state === 'paused', 30_000);
  expect(paused.audit.some((a) => a.action === 'checks-passed')).toBe(false);
  expect(paused.paused?.check?.name).toBe('pre-approval-bad');
  // an operator who has seen enough may still approve the gate
  await w.releases.act(bad.ref, 'approve', { by: 'carol', group: 0, reason: 'known noisy metric' });
  const final = await w.releases.result(bad.ref);
  expect(final.state).toBe('succeeded');
  expect(gate0(final)).toMatchObject({ state: 'passed', decidedBy: 'carol' });
});

test('bad checks are refused at start, naming the field; nothing starts', async () => {
  const app = `verify-bad-${++n}`;
  await w.registerApp(app, { revisions: 2 });
  const start = (checks: unknown) =>
    w.releases.startRelease({ app, tenant: 'acme', requestedBy: 'alice', strategy: { gate: { type: 'auto', checks } } });
  await expect(start([errorRate({ successCondition: 'answer < result' } as Partial<CheckInput>)])).rejects.toThrow(
    /strategy\.gate\.checks\[0\]\.successCondition: Property "answer" does not exist/,
  );
  await expect(start([errorRate({ successCondition: 'result +' } as Partial<CheckInput>)])).rejects.toThrow(
    /successCondition: does not parse/,
  );
  await expect(start([errorRate({ intervalSeconds: 0 })])).rejects.toThrow(
    /checks\[0\]\.intervalSeconds: intervalSeconds must be more than 0/,
  );
  await expect(start([errorRate({ count: 0 })])).rejects.toThrow(/checks\[0\]\.count: count must be at least 1/);
  await expect(start([{ type: 'webhook', name: 'w', url: 'ftp://x/y' }])).rejects.toThrow(/checks\[0\]\.url: url must be an http/);
  await expect(start([errorRate({ query: 'up{app="{{application}}"}' })])).rejects.toThrow(/unknown placeholder \{\{application\}\}/);
  await expect(start([errorRate({ name: 'a' }), errorRate({ name: 'a' })])).rejects.toThrow(
    /checks\[1\]\.name: check name "a" is used twice/,
  );
  await expect(start([{ type: 'kayenta', name: 'k' }])).rejects.toThrow(
    /checks\[0\]\.type: type must be "prometheus", "webhook" or "compare"/,
  );
  await expect(w.env.client.workflow.getHandle(`release/acme/${app}`).describe()).rejects.toThrow();
});
