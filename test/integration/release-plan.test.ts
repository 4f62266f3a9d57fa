import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { appReleaseId } from '../../workflows/app-release.js';
import type { PlanPreview } from '../../domain/index.js';
import { appPods, startReleaseHarness, statefulSetExists, waitForStatus, type ReleaseHarness } from '../support/release-harness.js';
import { startHttpApi } from '../support/http-api.js';
import { uniqueName } from '../support/sandbox.js';
import { appSpec } from '../support/app-spec.js';

/**
 * The dry run of a release over the real HTTP API on the sandbox: it answers the plan and starts nothing; the same
 * request started runs exactly that plan (cluster overrides and a first release's ordinals included); it refuses
 * what a start refuses, with the same 400; revision diffs name what changed, and revisions that do not exist (404).
 */
let h: ReleaseHarness;
let api: Awaited<ReturnType<typeof startHttpApi>>;
const tokens = { releaser: 'plan-releaser', viewer: 'plan-viewer' };

beforeAll(async () => {
  h = await startReleaseHarness();
  api = await startHttpApi(h, [
    { token: tokens.releaser, name: 'rita', roles: ['releaser'], tenants: ['acme'] },
    { token: tokens.viewer, name: 'vic', roles: ['viewer'], tenants: ['acme'] },
  ]);
});
afterAll(async () => {
  await api?.close();
  await h?.stop();
});

const route = (app: string) => `/v1/tenants/acme/apps/${app}`;
const release = (app: string, body: unknown, token = tokens.releaser) => api.call('POST', `${route(app)}/release`, token, body);
const plan = async (app: string, body: Record<string, unknown>, token = tokens.releaser) => {
  const res = await release(app, { ...body, dryRun: true }, token);
  expect(res.status).toBe(200);
  return res.body as PlanPreview & { inFlight?: { runId: string }; notices: string[] };
};
/** What a release workflow id holds now: nothing (never started), or its run's status. */
const describeRelease = (app: string) =>
  h.client.workflow
    .getHandle(appReleaseId('acme', app))
    .describe()
    .then(
      (d) => d.status.name,
      (err: Error) => err.name,
    );

/** An App on rz00a (kc1) and rz01a (kc2), 2 pods each; revision 2 changes the image, an env and kc2's replicas. */
async function registerApp(): Promise<string> {
  const app = uniqueName('plan');
  const spec = appSpec(app, 'registry.local/plan:1', { cells: ['rz00a', 'rz01a'], replicasPerCell: 2 });
  await h.releases.upsertApp(spec, 'rita');
  return app;
}

test('a dry run answers the plan and starts nothing; the same request started runs exactly those groups', async () => {
  const app = await registerApp();
  const request = { strategy: { groups: 2, gate: { type: 'manual', timeoutSeconds: 900 }, podTimeoutSeconds: 120 } };

  const first = await plan(app, request);
  expect(first).toMatchObject({ dryRun: true, app, tenant: 'acme', to: 1, firstRelease: true, pods: 4, mode: 'normal' });
  expect(first.from).toBeUndefined();
  expect(first.cells).toEqual([
    { cell: 'rz00a', cluster: 'kc1', workload: `${app}-rz00a`, replicas: 2 },
    { cell: 'rz01a', cluster: 'kc2', workload: `${app}-rz01a`, replicas: 2 },
  ]);
  // a first release creates pods from ordinal 0 up, one per cell per group
  expect(first.groups).toEqual([
    {
      index: 0,
      beta: false,
      size: 2,
      pods: [`${app}-rz00a-0`, `${app}-rz01a-0`],
      cells: { rz00a: [`${app}-rz00a-0`], rz01a: [`${app}-rz01a-0`] },
    },
    {
      index: 1,
      beta: false,
      size: 2,
      pods: [`${app}-rz00a-1`, `${app}-rz01a-1`],
      cells: { rz00a: [`${app}-rz00a-1`], rz01a: [`${app}-rz01a-1`] },
    },
  ]);
  expect(first.gates).toEqual([{ afterGroup: 0, type: 'manual', timeoutSeconds: 900, onFailure: 'pause' }]);
  expect(first.deadlines).toMatchObject({ podTimeoutSeconds: 120, gateTimeoutSeconds: 900 });
  // nothing started: no release workflow, no workload in either cluster, none listed
  expect(await describeRelease(app)).toBe('WorkflowNotFoundError');
  expect(await statefulSetExists(h.sandbox, 'kc1', 'acme-prod', `${app}-rz00a`)).toBe(false);
  expect((await api.call('GET', `/v1/tenants/acme/releases?app=${app}`, tokens.releaser)).body.releases).toEqual([]);
  // a viewer may see the plan (it changes nothing), not start it
  expect((await plan(app, request, tokens.viewer)).groups).toEqual(first.groups);
  expect((await release(app, request, tokens.viewer)).status).toBe(403);

  // the same request, started: the release runs the groups the dry run showed
  const started = await release(app, request);
  expect(started.status).toBe(201);
  const ref = { workflowId: started.body.workflowId as string, runId: started.body.runId as string };
  const atGate = await waitForStatus(h.releases, ref, 'at the gate after group 0', (s) => s.state === 'waiting-approval');
  expect(atGate.groups.map((g) => ({ index: g.index, beta: g.beta, pods: g.pods }))).toEqual(
    first.groups.map((g) => ({ index: g.index, beta: g.beta, pods: g.pods })),
  );
  await h.releases.approve(ref, { by: 'rita' });
  expect((await h.releases.result(ref)).state).toBe('succeeded');

  // revision 2: another image and env, 3 pods in every cell of kc2 (a cluster override the start path never resolves:
  // the workflow does, and the dry run as it does)
  const spec2 = appSpec(app, 'registry.local/plan:2', { cells: ['rz00a', 'rz01a'], replicasPerCell: 2, env: { LOG_LEVEL: 'debug' } });
  expect((await h.releases.upsertApp({ ...spec2, clusterOverrides: { kc2: { replicas: 3 } } }, 'rita')).revision).toBe(2);
  const request2 = { strategy: { beta: 'per-cell', groups: 2, gate: { type: 'auto', windowSeconds: 5 }, maxConcurrentPods: 2 } };
  const second = await plan(app, request2);
  expect(second).toMatchObject({ from: 1, to: 2, firstRelease: false, pods: 5 });
  expect(second.cells.map((c) => [c.cell, c.replicas])).toEqual([
    ['rz00a', 2],
    ['rz01a', 3],
  ]);
  expect(second.groups.map((g) => g.size)).toEqual([2, 1, 2]);
  expect(second.groups[0]).toMatchObject({ beta: true, cells: { rz00a: [`${app}-rz00a-1`], rz01a: [`${app}-rz01a-2`] } });
  expect(second.gates).toEqual([
    { afterGroup: 0, type: 'auto', windowSeconds: 5, timeoutSeconds: 60, onFailure: 'pause' },
    { afterGroup: 1, type: 'auto', windowSeconds: 5, timeoutSeconds: 60, onFailure: 'pause' },
  ]);
  expect(second.diff.changes.map((c) => c.text)).toEqual([
    'container app: image registry.local/plan:1 → registry.local/plan:2',
    'container app: env LOG_LEVEL=debug added',
    'cluster kc2: override added (replicas 3)',
  ]);
  expect(await describeRelease(app)).toBe('COMPLETED'); // still the first release: the dry run started nothing

  const ref2 = (await release(app, request2)).body as { workflowId: string; runId: string };
  const running = await waitForStatus(h.releases, ref2, 'planned', (s) => s.groups.length > 0);
  expect(running.groups.map((g) => ({ index: g.index, beta: g.beta, pods: g.pods }))).toEqual(
    second.groups.map((g) => ({ index: g.index, beta: g.beta, pods: g.pods })),
  );
  // a dry run while it is in flight says so: a start now would be refused
  const during = await plan(app, request2);
  expect(during.inFlight).toEqual(ref2);
  expect(during.notices.join('\n')).toMatch(/is in flight: a start now is refused \(409\)/);
  expect((await h.releases.result(ref2)).state).toBe('succeeded');
  expect((await appPods(h.sandbox, 'kc2', 'acme-prod', app)).map((p) => p.metadata!.name)).toEqual([
    `${app}-rz01a-0`,
    `${app}-rz01a-1`,
    `${app}-rz01a-2`,
  ]);
});

test('a dry run refuses what a start refuses, with the same 400 naming the field, and starts nothing', async () => {
  const app = await registerApp();
  const bad: [string, Record<string, unknown>, RegExp][] = [
    ['schema', { strategy: { groups: 0 } }, /^strategy\.groups$/],
    ['groups and groupSizes', { strategy: { groups: 2, groupSizes: [1] } }, /^strategy\.groupSizes$/],
    ['bad gate', { strategy: { gate: { type: 'timed' } } }, /^strategy\.gate/],
    ['more groups than pods', { strategy: { groups: 9 } }, /^strategy\.groups$/],
    ['budget above the pods', { strategy: { maxUnavailable: 9 } }, /^strategy\.maxUnavailable$/],
    ['mask outside the placement', { mask: ['rz00b'] }, /^mask\.cells$/],
    ['unknown revision', { revision: 7 }, /^revision$/],
  ];
  for (const [what, body, field] of bad) {
    const dry = await release(app, { ...body, dryRun: true });
    const start = await release(app, body);
    expect({ what, status: dry.status }).toEqual({ what, status: 400 });
    expect({ what, body: dry.body }).toEqual({ what, body: start.body });
    const fields = (dry.body.issues as { field: string }[]).map((i) => i.field);
    expect({ what, named: fields.length > 0 && fields.every((f) => field.test(f)) }).toEqual({ what, named: true });
  }
  const notBool = await release(app, { dryRun: 'yes' });
  expect(notBool.status).toBe(400);
  expect(notBool.body.issues).toEqual([{ field: 'dryRun', message: expect.stringMatching(/true or false/) }]);
  expect((await release(uniqueName('unknown'), { dryRun: true })).status).toBe(404);

  // a plain release never targets a revision marked bad: the dry run refuses it as the start does; asked for by
  // number it is planned, and the plan says the release will record it
  const marked = await api.call('POST', `${route(app)}/revisions/1/mark-bad`, tokens.releaser, { reason: 'crash loop' });
  expect(marked.status).toBe(200);
  const [dryBad, startBad] = [await release(app, { dryRun: true }), await release(app, {})];
  expect(dryBad.status).toBe(400);
  expect(dryBad.body).toEqual(startBad.body);
  expect(dryBad.body.issues.map((i: { field: string }) => i.field)).toEqual(['revision']);
  const explicit = await plan(app, { revision: 1 });
  expect(explicit.notices.join('\n')).toMatch(/released although revision 1 marked bad by rita .*: crash loop \(asked for explicitly\)/);
  expect(await describeRelease(app)).toBe('WorkflowNotFoundError');
});

test('revision diff: what changed between two revisions; revisions the App does not have are a 404 naming them', async () => {
  const app = await registerApp();
  await h.releases.upsertApp(
    {
      ...appSpec(app, 'registry.local/plan:2', { cells: ['rz00a', 'rz01a'], replicasPerCell: 3 }),
      overrides: { rz00a: { env: { SHARD: 'a' } } },
    },
    'rita',
  );
  const diff = await api.call('GET', `${route(app)}/revisions/1/diff/2`, tokens.viewer);
  expect(diff.status).toBe(200);
  expect(diff.body).toEqual({
    from: 1,
    to: 2,
    changes: [
      expect.objectContaining({
        field: 'template.containers[app].image',
        change: 'changed',
        from: 'registry.local/plan:1',
        to: 'registry.local/plan:2',
      }),
      expect.objectContaining({ field: 'replicasPerCell', text: 'replicas per cell 2 → 3' }),
      expect.objectContaining({ field: 'overrides.rz00a', change: 'added', text: 'cell rz00a: override added (env SHARD=a)' }),
    ],
  });
  expect((await api.call('GET', `${route(app)}/revisions/2/diff/1`, tokens.viewer)).body.changes[0].text).toBe(
    'container app: image registry.local/plan:2 → registry.local/plan:1',
  );

  const missing = await api.call('GET', `${route(app)}/revisions/3/diff/9`, tokens.viewer);
  expect(missing.status).toBe(404);
  expect(missing.body.error).toBe(`app acme/${app} has no revision 3 or 9 (kept revisions: 1, 2; latest 2)`);
  expect(missing.body.missing).toEqual([3, 9]);
  const one = await api.call('GET', `${route(app)}/revisions/1/diff/5`, tokens.viewer);
  expect(one.status).toBe(404);
  expect(one.body.issues).toEqual([{ field: 'b', message: 'revision 5 does not exist' }]);
  const noApp = await api.call('GET', `${route(uniqueName('nope'))}/revisions/1/diff/2`, tokens.viewer);
  expect(noApp.status).toBe(404);
  expect(noApp.body.error).toMatch(/is not registered/);
  const bad = await api.call('GET', `${route(app)}/revisions/0/diff/x`, tokens.viewer);
  expect(bad.status).toBe(400);
  expect(bad.body.issues.map((i: { field: string }) => i.field).sort()).toEqual(['params.a', 'params.b']);
});

const bin = fileURLToPath(new URL('../../cli/bin.js', import.meta.url));

/** Runs the real `barista` command as a process against the test API. */
function barista(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { env: { ...process.env, BARISTA_ENDPOINT: api.endpoint, BARISTA_TOKEN: tokens.releaser }, timeout: 120_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

test('CLI: `release plan` with flags and -f shows the plan and starts nothing; `release start` with them runs it; `app diff`', async () => {
  const app = await registerApp();
  const ref = `acme/${app}`;
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'barista-plan-')), 'release.yaml');
  writeFileSync(
    file,
    [
      'reason: from the file',
      'strategy:',
      '  groupSizes: [1, "50%"]',
      '  podTimeoutSeconds: 600',
      '  gate:',
      '    type: auto',
      '    windowSeconds: 20',
      '    checks:',
      '      - { name: up, type: prometheus, query: "sum(up)", successCondition: "result >= 0" }',
    ].join('\n'),
  );

  const shown = await barista('release', 'plan', ref, '-f', file, '--pod-timeout', '2m', '--gate-timeout', '5m', '--max-concurrent', '3');
  expect(shown.stderr).toBe('');
  expect(shown.code).toBe(0);
  expect(shown.stdout).toMatch(
    new RegExp(`^plan for ${ref}: revision - → 1, 4 pods in 2 cells \\(2 clusters\\), 3 groups; in-place, normal mode`),
  );
  expect(shown.stdout).toContain(
    `  group 0: 1 pod\n    rz00a: ${app}-rz00a-0\n    then gate auto: stable for 20s within 300s, checks up (prometheus); failing: pause`,
  );
  expect(shown.stdout).toContain('  deadlines: each pod step 120s; gate 300s');
  expect(shown.stdout).toContain('  at most 3 pods at once; on failure: pause');
  expect(shown.stdout).toMatch(/dry run: nothing was started or changed\n$/);
  expect(await describeRelease(app)).toBe('WorkflowNotFoundError');

  // --json: the API's plan as it is, the file's checks passed through
  const args = ['-f', file, '--pod-timeout', '2m', '--gate-timeout', '5m', '--max-concurrent', '3'];
  const json = JSON.parse((await barista('release', 'plan', ref, ...args, '--json')).stdout) as PlanPreview;
  expect(json.groups.map((g) => g.size)).toEqual([1, 2, 1]);
  expect(json.strategy).toMatchObject({ podTimeoutSeconds: 120, maxConcurrentPods: 3, groupSizes: [1, '50%'] });
  expect(json.gates[0]).toMatchObject({ type: 'auto', windowSeconds: 20, timeoutSeconds: 300, checks: [{ name: 'up', query: 'sum(up)' }] });

  // a bad flag is refused naming it, before anything is sent; what only the API can judge comes back with the flag
  const badFlag = await barista('release', 'plan', ref, '--group-sizes', '1,x');
  expect(badFlag.code).toBe(1);
  expect(badFlag.stderr).toBe('barista: --group-sizes "1,x": must be a pod count (3) or a percentage (25%)\n');
  const tooMany = await barista('release', 'plan', ref, '--groups', '9');
  expect(tooMany.code).toBe(1);
  expect(tooMany.stderr).toMatch(/^barista: 400: .*\n {2}strategy\.groups: .* \(--groups\)\n$/);
  const fromFile = await barista('release', 'plan', ref, '-f', file, '--groups', '9', '--gate', 'timed');
  expect(fromFile.stderr).toMatch(/--gate timed: a timed gate needs its pause: give --gate-seconds/);
  expect(await describeRelease(app)).toBe('WorkflowNotFoundError');

  // started with the same file and flags: the release runs the groups the plan showed
  const started = await barista('release', 'start', ref, ...args);
  expect(started.stdout).toMatch(new RegExp(`^started release/acme/${app} \\(run (\\S+)\\)`));
  const runId = /run (\S+)\)/.exec(started.stdout)![1]!;
  const status = await waitForStatus(h.releases, { workflowId: appReleaseId('acme', app), runId }, 'planned', (s) => s.groups.length > 0);
  expect(status.groups.map((g) => g.pods)).toEqual(json.groups.map((g) => g.pods));
  expect(status.audit[0]).toMatchObject({ by: 'rita', detail: expect.stringMatching(/from the file$/) });
  await h.releases.abort({ workflowId: appReleaseId('acme', app), runId }, { by: 'rita' });

  // app diff: what changed, line by line; a revision the App does not have: 404 naming it, exit 1
  await h.releases.upsertApp(
    appSpec(app, 'registry.local/plan:2', { cells: ['rz00a', 'rz01a'], replicasPerCell: 2, env: { A: '1' } }),
    'rita',
  );
  const diff = await barista('app', 'diff', ref, '1', '2');
  expect(diff.stdout).toBe(
    `${ref}: revision 1 → 2, 2 changes\n  container app: image registry.local/plan:1 → registry.local/plan:2\n  container app: env A=1 added\n`,
  );
  expect((await barista('app', 'diff', ref, '2', '2')).stdout).toMatch(/0 changes\n {2}no changes\n$/);
  const missing = await barista('app', 'diff', ref, '1', '7');
  expect(missing.code).toBe(1);
  expect(missing.stderr).toMatch(/^barista: 404: app acme\/\S+ has no revision 7 \(kept revisions: 1, 2; latest 2\)/);
  expect((await barista('app', 'diff', ref, '1', 'two')).stderr).toBe('barista: <b> "two": must be a revision number (1, 2, ...)\n');
});
