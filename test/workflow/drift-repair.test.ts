import type { CellDrift } from '../../activities/observe-cell-drift.js';
import { appEntityId } from '../../workflows/app-entity.js';
import { appQuery } from '../../workflows/definitions.js';
import { driftReportQuery, type DriftReport, type DriftRunInput } from '../../workflows/drift-definitions.js';
import { startWorkflowTestEnv, until, type WorkflowTestEnv } from './workflow-env.js';

/**
 * The DriftRepair workflow's decisions on the time-skipping test server, with fake cluster activities that report
 * drift as told: the recorded revision is the target, caps, quarantine, dry run, releases in flight or starting.
 * The sandbox scenario (test/scenario/drift-repair.test.ts) repairs real drift on real clusters.
 */
let w: WorkflowTestEnv;
beforeAll(async () => {
  w = await startWorkflowTestEnv();
}, 120_000);
afterAll(async () => {
  await w?.stop();
});

let n = 0;
/**
 * Runs drift repair and waits for it without skipping time (awaiting the result would let the test server jump
 * to the App entities' far timeouts and end them), then reads its report.
 */
async function run(input: Omit<DriftRunInput, 'tenant'>, onStart?: (id: string) => Promise<void>): Promise<DriftReport> {
  const handle = await w.env.client.workflow.start('driftRepair', {
    workflowId: `drift/acme/test-${++n}`,
    taskQueue: w.taskQueue,
    args: [{ tenant: 'acme', by: 'test', ...input }],
  });
  w.driftRuns.add(handle.workflowId);
  await onStart?.(handle.workflowId);
  while ((await handle.describe()).status.name === 'RUNNING') await new Promise((r) => setTimeout(r, 50));
  w.driftRuns.delete(handle.workflowId);
  return await handle.query(driftReportQuery);
}

/** The App entity's drift memory once `ready` holds (the run's signal is handled by the entity's next task). */
async function memoryOf(app: string, ready: (m: Record<string, number>) => boolean): Promise<Record<string, number>> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const memory = (await w.env.client.workflow.getHandle(appEntityId('acme', app)).query(appQuery))?.drift ?? {};
    if (ready(memory) || Date.now() > deadline) return memory;
    await new Promise((r) => setTimeout(r, 50));
  }
}

function imageDrift(pods: string[]): CellDrift {
  return {
    workload: [],
    pods: pods.map((pod) => ({
      pod,
      repair: 'release' as const,
      fields: [{ field: 'spec.containers[name=app].image', expected: 'registry.local/app:1', actual: 'evil:1' }],
    })),
    podsSeen: pods.length,
  };
}

function repairsOf(app: string): string[] {
  return w.driftRepairs.filter((r) => r.includes(`${app}-`));
}

test('a drifted pod is put back to the revision recorded for its cell, not the App latest; a clean cell is left alone', async () => {
  const app = 'drift-a';
  w.cellDrift.set('rz10a', imageDrift([`${app}-rz10a-0`]));
  await w.registerApp(app, { revisions: 3, cells: ['rz10a', 'rz10b'] }); // cells recorded at revision 2, latest 3
  const report = await run({ apps: [app] });
  expect(repairsOf(app)).toEqual([`ensurePodReleased rz10a ${app}-rz10a-0 2`]);
  const a = report.apps.find((x) => x.app === app)!;
  expect(a.state).toBe('repaired');
  expect(a.cells.map((c) => [c.cell, c.state, c.revision])).toEqual([
    ['rz10a', 'drifted', 2],
    ['rz10b', 'clean', 2],
  ]);
  expect(a.cells[0]!.findings).toEqual([
    expect.objectContaining({ object: `pod/${app}-rz10a-0`, field: 'spec.containers[name=app].image', outcome: 'repaired' }),
  ]);
  expect(report.totals).toMatchObject({ found: 1, repaired: 1 });
  expect(w.driftReports.at(-1)?.workflowId).toBe(report.workflowId);
});

test('a missing workload is recreated with its replicas; a changed one keeps replicas another manager owns; pods beyond the cap wait', async () => {
  const app = 'drift-b';
  w.cellDrift.set('rz11a', { workload: 'missing', pods: [], podsSeen: 0 });
  w.cellDrift.set('rz11b', {
    ...imageDrift(Array.from({ length: 7 }, (_, i) => `${app}-rz11b-${i}`)),
    workload: [{ field: 'spec.template.spec.containers[name=app].image', expected: 'registry.local/app:1', actual: 'x' }],
  });
  await w.registerApp(app, { revisions: 2, cells: ['rz11a', 'rz11b'] });
  w.driftRepairs.length = 0;
  const report = await run({ apps: [app] });
  expect(w.driftRepairs.filter((r) => r.startsWith('ensureWorkload'))).toEqual([
    'ensureWorkload rz11a',
    'ensureWorkload rz11b keep-replicas',
  ]);
  const pods = report.apps[0]!.cells[1]!.findings;
  expect(pods.filter((f) => f.object.startsWith('pod/') && f.outcome === 'repaired')).toHaveLength(5);
  expect(pods.filter((f) => f.outcome === 'deferred').map((f) => f.object)).toEqual([`pod/${app}-rz11b-5`, `pod/${app}-rz11b-6`]);
  expect(report.apps[0]!.state).toBe('drifted');
});

test('a field repaired three runs in a row and drifted again is quarantined: reported, not repaired; a dry run changes nothing', async () => {
  const app = 'drift-c';
  w.cellDrift.set('rz12a', imageDrift([`${app}-rz12a-0`]));
  await w.registerApp(app, { revisions: 2, cells: ['rz12a'] });
  const dry = await run({ apps: [app], dryRun: true });
  expect(dry.apps[0]!.cells[0]!.findings[0]).toMatchObject({ outcome: 'found', reason: 'dry run' });
  expect(repairsOf(app)).toEqual([]);
  for (let i = 1; i <= 3; i++) {
    const r = await run({ apps: [app] });
    expect(r.apps[0]).toMatchObject({ state: 'repaired' });
    expect(r.apps[0]!.cells[0]!.findings[0]!.outcome).toBe('repaired');
  }
  expect(await memoryOf(app, (m) => Object.values(m).includes(3))).toEqual({
    [`rz12a|pod/${app}-rz12a-0|spec.containers[name=app].image`]: 3,
  });
  const fourth = await run({ apps: [app] });
  expect(fourth.apps[0]!.cells[0]!.findings[0]).toMatchObject({ outcome: 'quarantined', reason: expect.stringMatching(/drift\.ignore/) });
  expect(repairsOf(app)).toHaveLength(3);
  expect(fourth.totals.quarantined).toBe(1);
  // once the field stops drifting, the streak is forgotten
  w.cellDrift.delete('rz12a');
  await run({ apps: [app] });
  expect(await memoryOf(app, (m) => Object.keys(m).length === 0)).toEqual({});
});

test('an App with a release in flight is skipped, and the report says which release', async () => {
  const app = 'drift-d';
  w.cellDrift.set('rz13a', imageDrift([`${app}-rz13a-0`]));
  await w.registerApp(app, { revisions: 2, cells: ['rz13a'], replicas: 2 });
  const ref = await w.releases.startRelease({
    app,
    tenant: 'acme',
    requestedBy: 'alice',
    strategy: { groups: 2, gate: { type: 'manual' } },
  });
  await until(w.releases, ref, 'the first gate', (s) => s.state === 'waiting-approval');
  const report = await run({ apps: [app] });
  expect(report.apps[0]).toMatchObject({ state: 'skipped', reason: expect.stringContaining(`release/acme/${app}`) });
  expect(repairsOf(app).filter((r) => r.includes('ensurePodReleased rz13a') && r.endsWith(' 1'))).toEqual([]);
  await w.releases.act(ref, 'abort', { by: 'alice', reason: 'test over' });
});

test('unknown Apps are named in the report; a cell no release reached is not drift', async () => {
  const report = await run({ apps: ['no-such-app'] });
  expect(report.apps).toEqual([expect.objectContaining({ app: 'no-such-app', state: 'skipped', reason: 'no such App in this tenant' })]);
  const app = 'drift-e';
  await w.registerApp(app, { revisions: 1, cells: ['rz14a'] }); // never released
  const fresh = await run({ apps: [app] });
  expect(fresh.apps[0]).toMatchObject({ state: 'skipped', reason: 'no cell has been released yet' });
});

test('a release that starts during a run takes its App over between pods: the pod in hand finishes, the rest are left to the release', async () => {
  const app = 'drift-f';
  const pods = Array.from({ length: 4 }, (_, i) => `${app}-rz15a-${i}`);
  w.cellDrift.set('rz15a', imageDrift(pods));
  await w.registerApp(app, { revisions: 2, cells: ['rz15a'], replicas: 4 });
  w.podStepMs.value = 400;
  let release: Awaited<ReturnType<typeof w.releases.startRelease>> | undefined;
  try {
    const report = await run({ apps: [app] }, async () => {
      // once the first pod is repaired (the second is in hand), a release of the App starts
      const deadline = Date.now() + 10_000;
      while (!w.driftRepairs.some((r) => r.includes(pods[0]!)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      release = await w.releases.startRelease({ app, tenant: 'acme', requestedBy: 'alice', strategy: { groups: 1 } });
    });
    // some pods repaired (at least the first), then every other one left to the release
    const outcomes = report.apps[0]!.cells[0]!.findings.map((f) => f.outcome);
    const repairedCount = outcomes.lastIndexOf('repaired') + 1;
    expect(repairedCount).toBeGreaterThanOrEqual(1);
    expect(outcomes).toEqual([...Array(repairedCount).fill('repaired'), ...Array(pods.length - repairedCount).fill('yielded')]);
    expect(repairedCount).toBeLessThan(pods.length);
    expect(report.apps[0]!.reason).toMatch(/^yielded to release release\/acme\/drift-f/);
    const done = await w.releases.result(release!);
    expect(done.state).toBe('succeeded');
    // the pod in hand when the release asked (if one was) was waited for, and named
    const waited = done.audit.find((e) => e.action === 'drift-repair-yielded');
    if (waited) expect(waited.detail).toContain(`pod/${pods[repairedCount - 1]}`);
    // the release moved pods only after the repair's last one was done
    const order = w.driftRepairs.filter((r) => r.includes(`${app}-`));
    const lastRepair = order.indexOf(`ensurePodReleased rz15a ${pods[repairedCount - 1]} 1`);
    const firstRelease = order.findIndex((r) => r.endsWith(' 2'));
    expect(lastRepair).toBeGreaterThanOrEqual(0);
    expect(firstRelease).toBeGreaterThan(lastRepair);
  } finally {
    w.podStepMs.value = 0;
  }
});

test('a run started by hand with a bad input fails at once naming the field, and repairs nothing', async () => {
  const before = w.driftRepairs.length;
  for (const [args, field] of [
    [{}, 'tenant'],
    [{ tenant: 'Acme Corp' }, 'tenant'],
    [{ tenant: 'acme', apps: 'all' }, 'apps'],
    [{ tenant: 'acme', dryRun: 'yes' }, 'dryRun'],
    [{ tenant: 'acme', extra: 1 }, 'extra'],
  ] as const) {
    const failure = await w.env.client.workflow
      .execute('driftRepair', { workflowId: `drift/bad-${++n}`, taskQueue: w.taskQueue, args: [args] })
      .then(
        () => undefined,
        (err: Error) => (err.cause as Error | undefined)?.message,
      );
    expect(failure).toMatch(new RegExp(`^invalid input: .*${field}`));
  }
  expect(w.driftRepairs.length).toBe(before);
});
