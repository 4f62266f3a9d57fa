import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { Client, Connection, ScheduleNotFoundError } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import type { FastifyInstance } from 'fastify';
import { Clusters } from '../../activities/clusters.js';
import { hashToken, TokenStore } from '../../api/auth.js';
import { DriftClient, type DriftScheduleView } from '../../api/drift-client.js';
import { ReleaseClient, visibilityQuery } from '../../api/release-client.js';
import { buildApi } from '../../api/server.js';
import { createLogger } from '../../sandbox/logger.js';
import { discoverTenants, ensureDriftSchedules } from '../../worker/drift-schedules.js';
import { DEFAULT_DRIFT_INTERVAL_SECONDS, driftScheduleId } from '../../workflows/drift-definitions.js';
import { connectSandbox, eventually, uniqueName, type TestSandbox } from '../support/sandbox.js';

/**
 * The drift Schedule and its API, on the sandbox's real Temporal server, without a worker: the Schedule's runs and the
 * runs started by hand go to a task queue nobody polls (the driftRepair workflow is not needed to test the surfaces
 * around it); the schedules use a one-day interval or are paused, and everything made here is removed in afterAll.
 */
let sandbox: TestSandbox;
let connection: Connection;
let client: Client;
let drift: DriftClient;
let api: FastifyInstance;
let base = '';
const taskQueue = uniqueName('drift-test');
const DAY = 86_400;
/** Tenants of this file: unique, so no other test file's schedules are touched. */
const tenant = uniqueName('drift');
const other = uniqueName('drift');
const logger = createLogger('drift-test', 'warn');
const tokens = {
  admin: 'drift-admin-token',
  releaser: 'drift-releaser-token',
  viewer: 'drift-viewer-token',
  foreign: 'drift-foreign-admin-token',
};
const made = new Set<string>();

beforeAll(async () => {
  sandbox = await connectSandbox();
  connection = await Connection.connect({ address: sandbox.info.temporalAddress });
  client = new Client({ connection, namespace: sandbox.info.temporalNamespace });
  drift = new DriftClient(client, taskQueue);
  const store = new TokenStore([
    { name: 'ada', sha256: hashToken(tokens.admin), roles: ['admin'], tenants: ['*'] },
    { name: 'rita', sha256: hashToken(tokens.releaser), roles: ['releaser'], tenants: [tenant] },
    { name: 'vic', sha256: hashToken(tokens.viewer), roles: ['viewer'], tenants: [tenant] },
    { name: 'gus', sha256: hashToken(tokens.foreign), roles: ['admin'], tenants: ['globex'] },
  ]);
  api = await buildApi({ releases: new ReleaseClient(client, taskQueue), tokens: store, logger });
  base = await api.listen({ port: 0, host: '127.0.0.1' });
});

afterAll(async () => {
  // every run this file started (scheduled, triggered or by hand) waits on a queue nobody polls: end them
  for (const t of made) {
    for await (const wf of client.workflow.list({
      query: `${visibilityQuery({ BaristaKind: 'drift', BaristaTenant: t })} AND ExecutionStatus = 'Running'`,
    }))
      await client.workflow
        .getHandle(wf.workflowId, wf.runId)
        .terminate('drift-schedule test done')
        .catch(() => undefined);
    await client.schedule
      .getHandle(driftScheduleId(t))
      .delete()
      .catch((err: unknown) => {
        if (!(err instanceof ScheduleNotFoundError)) throw err;
      });
  }
  await api?.close();
  await connection?.close();
});

async function call(method: string, url: string, token: string, payload?: unknown) {
  const res = await fetch(`${base}${url}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(payload !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(payload !== undefined ? { body: JSON.stringify(payload) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as Record<string, unknown> & { issues?: { field: string }[] } };
}
const route = (t: string, rest = '') => `/v1/tenants/${t}/drift${rest}`;
const fields = (body: { issues?: { field: string }[] }) => (body.issues ?? []).map((i) => i.field);

test('ensure twice, and three at once: one Schedule, created once, starting driftRepair as specified', async () => {
  made.add(tenant);
  const first = await drift.ensureDriftSchedule(tenant, { intervalSeconds: DAY });
  const second = await drift.ensureDriftSchedule(tenant, { intervalSeconds: 600 });
  expect([first.created, second.created]).toEqual([true, false]);
  // already there: unchanged, the second interval is not applied
  expect(second.schedule.intervalSeconds).toBe(DAY);
  expect(second.schedule.createdAt).toBe(first.schedule.createdAt);
  expect(first.schedule).toMatchObject({ scheduleId: `drift/${tenant}`, paused: false, overlap: 'SKIP', running: [] });

  const d = await client.schedule.getHandle(driftScheduleId(tenant)).describe();
  expect(d.action).toMatchObject({
    type: 'startWorkflow',
    workflowType: 'driftRepair',
    workflowId: `drift/${tenant}`,
    taskQueue,
    args: [{ tenant, by: 'schedule' }],
  });
  const sa = d.action.typedSearchAttributes;
  const pairs = sa instanceof TypedSearchAttributes ? sa.getAll() : (sa ?? []);
  expect(pairs.map((p) => [p.key.name, p.value])).toEqual(
    expect.arrayContaining([
      ['BaristaKind', 'drift'],
      ['BaristaTenant', tenant],
    ]),
  );
  expect(d.policies.overlap).toBe('SKIP');

  // concurrent creates: one creates, the others find it (their "already exists" is not an error)
  made.add(other);
  const racing = await Promise.all([1, 2, 3].map(() => drift.ensureDriftSchedule(other, { intervalSeconds: DAY })));
  expect(racing.filter((r) => r.created)).toHaveLength(1);
  expect(new Set(racing.map((r) => r.schedule.createdAt)).size).toBe(1);
  await drift.pauseDriftSchedule(other, 'test', 'not needed running');
});

test('pause records who and why, describe shows it to a viewer; unpause; set interval keeps the pause', async () => {
  const paused = await call('POST', route(tenant, '/schedule/pause'), tokens.admin, { reason: 'kc1 under maintenance' });
  expect(paused.status).toBe(200);
  expect(paused.body).toMatchObject({
    paused: true,
    note: 'paused by ada: kc1 under maintenance',
    pausedBy: { by: 'ada', reason: 'kc1 under maintenance' },
    nextRuns: [],
  });
  const shown = await call('GET', route(tenant, '/schedule'), tokens.viewer);
  expect(shown.status).toBe(200);
  expect(shown.body).toMatchObject({ paused: true, pausedBy: { by: 'ada', reason: 'kc1 under maintenance' }, intervalSeconds: DAY });

  const set = await call('PUT', route(tenant, '/schedule'), tokens.admin, { intervalSeconds: 3600 });
  expect(set.status).toBe(200);
  expect(set.body).toMatchObject({ intervalSeconds: 3600, paused: true, pausedBy: { by: 'ada' } });
  expect((await client.schedule.getHandle(driftScheduleId(tenant)).describe()).spec.intervals?.[0]?.every).toBe(3_600_000);

  const unpaused = await call('POST', route(tenant, '/schedule/unpause'), tokens.admin, {});
  expect(unpaused.status).toBe(200);
  expect(unpaused.body).toMatchObject({ paused: false, note: 'unpaused by ada', intervalSeconds: 3600 });
  expect(unpaused.body.pausedBy).toBeUndefined();
  expect((unpaused.body as unknown as DriftScheduleView).nextRuns.length).toBeGreaterThan(0);

  const back = await call('PUT', route(tenant, '/schedule'), tokens.admin, { intervalSeconds: DAY });
  expect(back.body).toMatchObject({ intervalSeconds: DAY, paused: false });
  // a paused one stays so while this file runs
  await call('POST', route(tenant, '/schedule/pause'), tokens.admin, { reason: 'test' });
});

test('set interval on a tenant without a Schedule creates it (201); the others answer 404 naming the way out', async () => {
  const fresh = uniqueName('drift');
  made.add(fresh);
  expect((await call('GET', route(fresh, '/schedule'), tokens.admin)).status).toBe(404);
  const pause = await call('POST', route(fresh, '/schedule/pause'), tokens.admin, { reason: 'x' });
  expect(pause.status).toBe(404);
  expect(pause.body.error).toMatch(/has no drift schedule/);
  const created = await call('PUT', route(fresh, '/schedule'), tokens.admin, { intervalSeconds: DAY });
  expect(created.status).toBe(201);
  expect(created.body).toMatchObject({ scheduleId: `drift/${fresh}`, intervalSeconds: DAY, paused: false });
  await call('POST', route(fresh, '/schedule/pause'), tokens.admin, { reason: 'test' });
});

test('every bad body or query is a 400 naming the field, and changes nothing', async () => {
  const before = await drift.describeDriftSchedule(tenant);
  const bad: [string, string, unknown, string][] = [
    ['POST', '/schedule/pause', {}, 'reason'],
    ['POST', '/schedule/pause', { reason: '' }, 'reason'],
    ['POST', '/schedule/pause', { reason: '   ' }, 'reason'],
    ['POST', '/schedule/pause', { reason: 5 }, 'reason'],
    ['PUT', '/schedule', {}, 'intervalSeconds'],
    ['PUT', '/schedule', { intervalSeconds: 5 }, 'intervalSeconds'],
    ['PUT', '/schedule', { intervalSeconds: 86_401 }, 'intervalSeconds'],
    ['PUT', '/schedule', { intervalSeconds: '600' }, 'intervalSeconds'],
    ['PUT', '/schedule', { intervalSeconds: 60.5 }, 'intervalSeconds'],
    ['POST', '/runs', { dryRun: 'yes' }, 'dryRun'],
    ['POST', '/runs', { apps: 'shop' }, 'apps'],
    ['POST', '/runs', { apps: [] }, 'apps'],
    ['POST', '/runs', { apps: ['Not_A_Name'] }, 'apps[0]'],
  ];
  for (const [method, rest, payload, field] of bad) {
    const res = await call(method, route(tenant, rest), tokens.admin, payload);
    expect({ rest, payload, status: res.status }).toEqual({ rest, payload, status: 400 });
    expect(fields(res.body)).toContain(field);
  }
  // an unknown field is named in the message
  const extra = await call('PUT', route(tenant, '/schedule'), tokens.admin, { intervalSeconds: 600, every: 600 });
  expect(extra.status).toBe(400);
  expect(String(extra.body.error)).toMatch(/every/);
  const query = await call('GET', route(tenant, '?limit=0'), tokens.viewer);
  expect(query.status).toBe(400);
  expect(fields(query.body)).toContain('querystring.limit');

  const after = await drift.describeDriftSchedule(tenant);
  expect(after).toMatchObject({ intervalSeconds: before.intervalSeconds, paused: before.paused, note: before.note });
});

test("another tenant's token is a 403 everywhere; a releaser or viewer may not steer the Schedule", async () => {
  const steer: [string, string, unknown][] = [
    ['POST', '/schedule/pause', { reason: 'mine now' }],
    ['POST', '/schedule/unpause', {}],
    ['POST', '/schedule/trigger', {}],
    ['PUT', '/schedule', { intervalSeconds: 60 }],
  ];
  for (const [method, rest, payload] of [
    ...steer,
    ['GET', '', undefined],
    ['GET', '/schedule', undefined],
    ['POST', '/runs', {}],
  ] as const) {
    const res = await call(method, route(tenant, rest), tokens.foreign, payload);
    expect({ rest, status: res.status }).toEqual({ rest, status: 403 });
    expect(res.body.error).toMatch(`gus may not act on tenant ${tenant}`);
  }
  for (const [method, rest, payload] of steer)
    for (const token of [tokens.releaser, tokens.viewer]) {
      const res = await call(method, route(tenant, rest), token, payload);
      expect({ rest, status: res.status }).toEqual({ rest, status: 403 });
      expect(res.body.error).toMatch(/may not drift:schedule; needs one of admin/);
    }
  const viewerRun = await call('POST', route(tenant, '/runs'), tokens.viewer, {});
  expect(viewerRun.status).toBe(403);
  // nothing changed: still paused by ada, interval a day
  expect(await drift.describeDriftSchedule(tenant)).toMatchObject({ paused: true, note: 'paused by ada: test', intervalSeconds: DAY });
});

test('runs by hand and by trigger are listed from visibility with their status; a run that ended without a report has none', async () => {
  const started = await call('POST', route(tenant, '/runs'), tokens.releaser, { apps: ['shop'] });
  expect(started.status).toBe(202);
  expect(started.body.workflowId).toMatch(new RegExp(`^drift/${tenant}/manual-`));
  const input = (await client.workflow.getHandle(String(started.body.workflowId)).fetchHistory()).events?.[0]
    ?.workflowExecutionStartedEventAttributes;
  expect(input?.workflowType?.name).toBe('driftRepair');

  // listed (visibility catches up), running, no report: nobody polls this queue, so the query is not answered
  const listed = await eventually('the run by hand listed', async () => {
    const res = await call('GET', route(tenant), tokens.viewer);
    const runs = res.body.runs as { workflowId: string; status: string; by?: string; report?: unknown; reportError?: string }[];
    return runs.find((r) => r.workflowId === started.body.workflowId);
  });
  expect(listed).toMatchObject({ status: 'RUNNING', by: 'rita', dryRun: false });
  expect(listed.report).toBeUndefined();
  expect(listed.reportError).toMatch(/did not answer its report query/);

  // one repairing run at a time: a second is refused while the first is in flight; a dry run may go beside it
  const second = await call('POST', route(tenant, '/runs'), tokens.admin, {});
  expect(second.status).toBe(409);
  expect(second.body.running).toBe(started.body.workflowId);
  const dry = await call('POST', route(tenant, '/runs'), tokens.admin, { dryRun: true });
  expect(dry.status).toBe(202);

  // trigger-now goes through the Schedule (paused or not) and gets the Schedule's ids
  const triggered = await call('POST', route(tenant, '/schedule/trigger'), tokens.admin, {});
  expect(triggered.status).toBe(202);
  const action = await eventually('the triggered run', async () => (await drift.describeDriftSchedule(tenant)).recentRuns[0]);
  expect(action.workflowId.startsWith(`drift/${tenant}-`)).toBe(true);
  // overlap policy skip: a second trigger (no body needed) while that run is in flight starts nothing
  expect((await call('POST', route(tenant, '/schedule/trigger'), tokens.admin)).status).toBe(202);
  const skipped = await eventually('the second trigger skipped', async () => {
    const s = await drift.describeDriftSchedule(tenant);
    return s.skippedOverlap > 0 ? s : undefined;
  });
  expect(skipped.recentRuns.map((r) => r.workflowId)).toEqual([action.workflowId]);
  expect(skipped.running).toEqual([expect.objectContaining({ workflowId: action.workflowId })]);

  await client.workflow.getHandle(String(started.body.workflowId)).terminate('ended by the test');
  const ended = await eventually('the terminated run listed as such, the others too', async () => {
    const res = await call('GET', route(tenant, '?limit=10'), tokens.viewer);
    const runs = res.body.runs as { workflowId: string; status: string; by?: string; report?: unknown }[];
    const gone = runs.find((r) => r.workflowId === started.body.workflowId);
    return gone?.status === 'TERMINATED' && runs.some((r) => r.workflowId === action.workflowId) && runs.length === 3 ? runs : undefined;
  });
  expect(ended.find((r) => r.workflowId === started.body.workflowId)?.report).toBeUndefined();
  expect(ended.find((r) => r.workflowId === action.workflowId)).toMatchObject({ status: 'RUNNING', by: 'schedule' });
  // newest first
  const times = ended.map((r) => (r as unknown as { startTime: string }).startTime);
  expect([...times].sort().reverse()).toEqual(times);
});

test('worker start: tenants from BARISTA_DRIFT_TENANTS (bad names ignored, `none` off), or from node labels; an unreachable cluster is logged', async () => {
  const [a, b] = [uniqueName('drift'), uniqueName('drift')];
  made.add(a).add(b);
  const clusters = new Clusters(sandbox.info.kubeconfig);
  try {
    const first = await ensureDriftSchedules({ client, taskQueue, clusters, logger, env: { BARISTA_DRIFT_TENANTS: `${a}, Not_A_Tenant` } });
    expect(first).toEqual({ tenants: [a], created: [a], existing: [], failed: [] });
    await drift.pauseDriftSchedule(a, 'test', 'not needed running');
    const env = { BARISTA_DRIFT_TENANTS: `${b},${a}`, BARISTA_DRIFT_INTERVAL_SECONDS: '7200' };
    const again = await ensureDriftSchedules({ client, taskQueue, clusters, logger, env });
    expect(again).toEqual({ tenants: [a, b].sort(), created: [b], existing: [a], failed: [] });
    await drift.pauseDriftSchedule(b, 'test', 'not needed running');
    // the default interval for the first; the one that existed is left as it was
    expect(await drift.describeDriftSchedule(a)).toMatchObject({ intervalSeconds: DEFAULT_DRIFT_INTERVAL_SECONDS, paused: true });
    expect(await drift.describeDriftSchedule(b)).toMatchObject({ intervalSeconds: 7200, paused: true });
    const off = await ensureDriftSchedules({ client, taskQueue, clusters, logger, env: { BARISTA_DRIFT_TENANTS: 'none' } });
    expect(off).toEqual({ tenants: [], created: [], existing: [], failed: [] });
  } finally {
    await clusters.stop();
  }

  // discovery (read only: the sandbox's tenants get no schedule from this file), with one cluster that does not answer
  const dir = await mkdtemp(path.join(os.tmpdir(), 'drift-kubeconfig-'));
  const kc = new KubeConfig();
  kc.loadFromFile(sandbox.info.kubeconfig);
  kc.addCluster({ name: 'gone', server: 'https://127.0.0.1:1', skipTLSVerify: true });
  kc.addContext({ name: 'gone', cluster: 'gone', user: kc.getContexts()[0]!.user });
  const file = path.join(dir, 'kubeconfig');
  await writeFile(file, kc.exportConfig());
  const withGone = new Clusters(file);
  const warned: string[] = [];
  const watching = createLogger('drift-test', 'warn');
  watching.warn = ((obj: { cluster?: string }) => void warned.push(obj.cluster ?? '')) as unknown as typeof watching.warn;
  try {
    const tenants = await discoverTenants(withGone, watching);
    expect(warned).toContain('gone');
    // every tenant of a cluster that answered (another file may have left one stopped)
    const answered = sandbox.info.clusters.filter((c) => !warned.includes(c.name));
    expect(answered.length).toBeGreaterThan(0);
    expect(tenants).toEqual(expect.arrayContaining([...new Set(answered.map((c) => c.tenant))]));
    expect(tenants).toEqual([...tenants].sort());
  } finally {
    await withGone.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
