import net from 'node:net';
import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { hashToken, TokenStore } from '../../api/auth.js';
import { ReleaseClient } from '../../api/release-client.js';
import { buildApi } from '../../api/server.js';
import { createLogger } from '../../sandbox/logger.js';
import { eventually, uniqueName } from '../support/sandbox.js';
import { startReleaseHarness, type ReleaseHarness } from '../support/release-harness.js';

let h: ReleaseHarness;
let api: FastifyInstance;
const tokens = {
  admin: 'admin-token-1',
  releaser: 'releaser-token-1',
  approver: 'approver-token-1',
  viewer: 'viewer-token-1',
  other: 'other-tenant-token',
};

beforeAll(async () => {
  h = await startReleaseHarness();
  const store = new TokenStore([
    { name: 'ada', sha256: hashToken(tokens.admin), roles: ['admin'], tenants: ['*'] },
    { name: 'rita', sha256: hashToken(tokens.releaser), roles: ['releaser'], tenants: ['acme'] },
    { name: 'april', sha256: hashToken(tokens.approver), roles: ['approver'], tenants: ['acme'] },
    { name: 'vic', sha256: hashToken(tokens.viewer), roles: ['viewer'], tenants: ['acme'] },
    { name: 'gus', sha256: hashToken(tokens.other), roles: ['admin'], tenants: ['globex'] },
  ]);
  api = await buildApi({ releases: h.releases, tokens: store, logger: createLogger('api', 'warn') });
  base = await api.listen({ port: 0, host: '127.0.0.1' });
});

let base = '';
/** A real HTTP call to the API listening on loopback. */
async function call(opts: { method: string; url: string; headers?: Record<string, string>; payload?: unknown; raw?: string }) {
  const hasBody = opts.payload !== undefined || opts.raw !== undefined;
  const res = await fetch(`${base}${opts.url}`, {
    method: opts.method,
    headers: { ...(hasBody ? { 'content-type': 'application/json' } : {}), ...(opts.headers ?? {}) },
    ...(hasBody ? { body: opts.raw ?? JSON.stringify(opts.payload) } : {}),
  });
  const text = await res.text();
  return { statusCode: res.status, json: () => JSON.parse(text) };
}
afterAll(async () => {
  await api?.close();
  await h?.stop();
});

/** Several calls at once, e.g. 100 starts with one key. */
async function callMany(n: number, opts: Parameters<typeof call>[0]) {
  return Promise.all(Array.from({ length: n }, () => call(opts)));
}

/**
 * The answer to a PUT that asks the clusters about its cells: a 503 while a cluster another test stopped
 * (kc3, kc4) is down is retried until it is back, so that the test sees the answer about the cell itself.
 */
async function putAsked(url: string, payload: unknown, token = tokens.admin) {
  return eventually(
    `an answer about the cells of ${url}`,
    async () => {
      const res = await call({ method: 'PUT', url, headers: auth(token), payload });
      return res.statusCode === 503 ? undefined : res;
    },
    90_000,
  );
}

const auth = (token: string) => ({ authorization: `Bearer ${token}` });
const appBody = {
  workspace: 'prod',
  template: { containers: [{ name: 'app', image: 'registry.local/api:1' }] },
  replicasPerCell: 2,
  placement: { cells: ['rz00a'] },
};

test('register an app, start a release idempotently, approve it, read its status with the approver recorded', async () => {
  const app = uniqueName('api');
  const put = await call({ method: 'PUT', url: `/v1/tenants/acme/apps/${app}`, headers: auth(tokens.releaser), payload: appBody });
  expect(put.statusCode).toBe(200);
  expect(put.json()).toEqual({ revision: 1, created: true });
  const start = () =>
    call({
      method: 'POST',
      url: `/v1/tenants/acme/apps/${app}/release`,
      headers: { ...auth(tokens.releaser), 'idempotency-key': `k-${app}` },
      payload: { strategy: { groups: 2, gate: { type: 'manual' } } },
    });
  const first = await start();
  expect(first.statusCode).toBe(201);
  const again = await start();
  expect(again.statusCode).toBe(200); // same key, same request: the same release, not a new one
  expect(again.json()).toEqual(first.json());
  const other = await call({ method: 'POST', url: `/v1/tenants/acme/apps/${app}/release`, headers: auth(tokens.releaser), payload: {} });
  expect(other.statusCode).toBe(409);
  expect(other.json().error).toMatch(/already has a release in flight/);

  // the releaser may not approve; the approver may
  expect(
    (await call({ method: 'POST', url: `/v1/tenants/acme/apps/${app}/release/approve`, headers: auth(tokens.releaser), payload: {} }))
      .statusCode,
  ).toBe(403);
  const ok = await call({
    method: 'POST',
    url: `/v1/tenants/acme/apps/${app}/release/approve`,
    headers: auth(tokens.approver),
    payload: { group: 0, reason: 'lgtm' },
  });
  expect(ok.statusCode).toBe(200);
  const final = await h.releases.result(first.json());
  expect(final.state).toBe('succeeded');
  expect(final.gates[0]).toMatchObject({ state: 'passed', decidedBy: 'april' });
  const status = await call({ method: 'GET', url: `/v1/tenants/acme/apps/${app}/release`, headers: auth(tokens.viewer) });
  expect(status.statusCode).toBe(200);
  expect(status.json().audit.find((a: { action: string }) => a.action === 'requested').by).toBe('rita');
});

test('unauthenticated, wrong-role and other-tenant calls are refused', async () => {
  const app = uniqueName('authz');
  const url = `/v1/tenants/acme/apps/${app}`;
  expect((await call({ method: 'PUT', url, payload: appBody })).statusCode).toBe(401);
  expect((await call({ method: 'PUT', url, headers: auth('nope'), payload: appBody })).statusCode).toBe(401);
  const viewer = await call({ method: 'PUT', url, headers: auth(tokens.viewer), payload: appBody });
  expect(viewer.statusCode).toBe(403);
  expect(viewer.json().error).toMatch(/vic .* may not apps:write/);
  const foreign = await call({ method: 'PUT', url, headers: auth(tokens.other), payload: appBody });
  expect(foreign.statusCode).toBe(403);
  expect(foreign.json().error).toMatch(/may not act on tenant acme/);
  expect(await h.releases.getApp('acme', app)).toBeUndefined();
});

test("a tenant's Apps are listed, another tenant's are not, and releases filter by state", async () => {
  const [a, b, foreign] = [uniqueName('list-a'), uniqueName('list-b'), uniqueName('list-g')];
  for (const name of [a, b])
    expect(
      (await call({ method: 'PUT', url: `/v1/tenants/acme/apps/${name}`, headers: auth(tokens.releaser), payload: appBody })).statusCode,
    ).toBe(200);
  await call({
    method: 'PUT',
    url: `/v1/tenants/acme/apps/${b}`,
    headers: auth(tokens.releaser),
    payload: { ...appBody, template: { containers: [{ name: 'app', image: 'registry.local/api:2' }] } },
  });
  const globexBody = { ...appBody, workspace: 'staging', placement: { cells: ['rz02a'] }, replicasPerCell: 1 };
  expect((await putAsked(`/v1/tenants/globex/apps/${foreign}`, globexBody, tokens.other)).statusCode).toBe(200);

  type Listed = { name: string; tenant: string; latest: number; released: Record<string, number> };
  const listed = await eventually('both acme Apps listed', async () => {
    const res = await call({ method: 'GET', url: '/v1/tenants/acme/apps', headers: auth(tokens.viewer) });
    const apps = res.json().apps as Listed[];
    return apps.some((x) => x.name === a) && apps.some((x) => x.name === b) ? apps : undefined;
  });
  expect(listed.find((x) => x.name === b)).toMatchObject({ tenant: 'acme', latest: 2, released: {} });
  expect(listed.every((x) => x.tenant === 'acme')).toBe(true);
  expect(listed.some((x) => x.name === foreign)).toBe(false);
  expect((await call({ method: 'GET', url: '/v1/tenants/acme/apps', headers: auth(tokens.other) })).statusCode).toBe(403);
  const badLimit = await call({ method: 'GET', url: '/v1/tenants/acme/apps?limit=0', headers: auth(tokens.viewer) });
  expect(badLimit.statusCode).toBe(400);
  expect(badLimit.json().issues[0].field).toBe('querystring.limit');

  // no release yet: 404, not an internal error
  const none = await call({ method: 'GET', url: `/v1/tenants/acme/apps/${a}/release`, headers: auth(tokens.viewer) });
  expect(none.statusCode).toBe(404);
  expect(none.json().error).toMatch(/no such release/);

  // release list: the finished release of `a` is found by state succeeded, not by state paused
  const ref = await h.releases.startRelease({ app: a, tenant: 'acme', requestedBy: 'rita', strategy: { groups: 1 } });
  await h.releases.result(ref);

  // one release by its run id: status and audit trail, also once finished
  const one = await call({ method: 'GET', url: `/v1/tenants/acme/apps/${a}/releases/${ref.runId}`, headers: auth(tokens.viewer) });
  expect(one.statusCode).toBe(200);
  expect(one.json()).toMatchObject({ app: a, state: 'succeeded' });
  expect(one.json().audit.map((e: { action: string; by: string }) => `${e.action}:${e.by}`)).toEqual(
    expect.arrayContaining(['requested:rita', 'finished:barista']),
  );
  const otherRun = await call({
    method: 'GET',
    url: `/v1/tenants/acme/apps/${a}/releases/01a20e97-3959-7952-9505-f187397c01fb`,
    headers: auth(tokens.viewer),
  });
  expect(otherRun.statusCode).toBe(404);
  const badRun = await call({ method: 'GET', url: `/v1/tenants/acme/apps/${a}/releases/latest`, headers: auth(tokens.viewer) });
  expect(badRun.statusCode).toBe(400);
  expect(badRun.json().issues[0].field).toBe('params.runId');
  expect(
    (await call({ method: 'GET', url: `/v1/tenants/acme/apps/${a}/releases/${ref.runId}`, headers: auth(tokens.other) })).statusCode,
  ).toBe(403);
  const byState = (state: string) =>
    call({ method: 'GET', url: `/v1/tenants/acme/releases?app=${a}&state=${state}`, headers: auth(tokens.viewer) }).then(
      (r) => r.json().releases as { workflowId: string; state: string }[],
    );
  const succeeded = await eventually('the release listed as succeeded', async () => {
    const releases = await byState('succeeded');
    return releases.length ? releases : undefined;
  });
  expect(succeeded).toEqual([expect.objectContaining({ workflowId: `release/acme/${a}`, state: 'succeeded' })]);
  expect(await byState('paused')).toEqual([]);
  const badState = await call({ method: 'GET', url: '/v1/tenants/acme/releases?state=sleeping', headers: auth(tokens.viewer) });
  expect(badState.statusCode).toBe(400);
  expect(badState.json().issues[0].field).toBe('querystring.state');
});

describe('a corpus of malformed requests: each 400 naming the field, nothing started', () => {
  const app = uniqueName('corpus');
  beforeAll(async () => {
    await call({ method: 'PUT', url: `/v1/tenants/acme/apps/${app}`, headers: auth(tokens.admin), payload: appBody });
  });
  const put = (body: unknown) => ({ method: 'PUT' as const, url: `/v1/tenants/acme/apps/${app}-x`, body });
  const start = (body: unknown) => ({ method: 'POST' as const, url: `/v1/tenants/acme/apps/${app}/release`, body });
  const cases: [string, { method: 'PUT' | 'POST'; url: string; body: unknown }, RegExp][] = [
    ['app: missing template', put({ ...appBody, template: undefined }), /^template$/],
    ['app: no containers', put({ ...appBody, template: { containers: [] } }), /^template\.containers$/],
    [
      'app: image with spaces',
      put({ ...appBody, template: { containers: [{ name: 'app', image: 'not an image' }] } }),
      /^template\.containers\[0\]\.image$/,
    ],
    [
      'app: uppercase container name',
      put({ ...appBody, template: { containers: [{ name: 'App', image: 'x:1' }] } }),
      /^template\.containers\[0\]\.name$/,
    ],
    ['app: replicas 0', put({ ...appBody, replicasPerCell: 0 }), /^replicasPerCell$/],
    ['app: replicas a string', put({ ...appBody, replicasPerCell: 'two' }), /^replicasPerCell$/],
    ['app: replicas fractional', put({ ...appBody, replicasPerCell: 1.5 }), /^replicasPerCell$/],
    ['app: empty placement', put({ ...appBody, placement: { cells: [] } }), /^placement$/],
    ['app: repeated cell', put({ ...appBody, placement: { cells: ['a', 'a'] } }), /^placement\.cells$/],
    ['app: bad cell name', put({ ...appBody, placement: { cells: ['RZ_1'] } }), /^placement\.cells\[0\]$/],
    ['app: unknown field', put({ ...appBody, colour: 'blue' }), /^\(body\)$/],
    ['app: unknown traffic component', put({ ...appBody, traffic: [{ name: 'pigeon' }] }), /^traffic\[0\]\.name$/],
    ['app: duplicate traffic component', put({ ...appBody, traffic: [{ name: 'dns' }, { name: 'dns' }] }), /^traffic\[1\]\.name$/],
    [
      'app: zero deregistration timeout',
      put({ ...appBody, traffic: [{ name: 'dns', deregistrationTimeoutSeconds: 0 }] }),
      /^traffic\[0\]\.deregistrationTimeoutSeconds$/,
    ],
    ['app: negative override replicas', put({ ...appBody, overrides: { rz00a: { replicas: -1 } } }), /^overrides\.rz00a\.replicas$/],
    [
      'app: env name invalid',
      put({ ...appBody, template: { containers: [{ name: 'app', image: 'x:1', env: { '1BAD': 'x' } }] } }),
      /^template\.containers\[0\]\.env/,
    ],
    ['app: body not an object', put('hello'), /^\(body\)$/],
    ['release: groups 0', start({ strategy: { groups: 0 } }), /^strategy\.groups$/],
    ['release: groups a string', start({ strategy: { groups: 'three' } }), /^strategy\.groups$/],
    ['release: negative group size', start({ strategy: { groupSizes: [-1] } }), /^strategy\.groupSizes\[0\]$/],
    ['release: percentage over 100', start({ strategy: { groupSizes: ['150%'] } }), /^strategy\.groupSizes\[0\]$/],
    ['release: groups and groupSizes', start({ strategy: { groups: 2, groupSizes: [1] } }), /^strategy\.groupSizes$/],
    ['release: unknown gate', start({ strategy: { gate: { type: 'sometimes' } } }), /^strategy\.gate/],
    ['release: timed gate without seconds', start({ strategy: { gate: { type: 'timed' } } }), /^strategy\.gate\.seconds$/],
    [
      'release: auto gate negative window',
      start({ strategy: { gate: { type: 'auto', windowSeconds: -3 } } }),
      /^strategy\.gate\.windowSeconds$/,
    ],
    ['release: bad mode', start({ strategy: { mode: 'yolo' } }), /^strategy\.mode$/],
    ['release: bad beta', start({ strategy: { beta: 'two' } }), /^strategy\.beta$/],
    ['release: negative pod timeout', start({ strategy: { podTimeoutSeconds: -1 } }), /^strategy\.podTimeoutSeconds$/],
    ['release: zero concurrency', start({ strategy: { maxConcurrentPods: 0 } }), /^strategy\.maxConcurrentPods$/],
    ['release: revision 0', start({ revision: 0 }), /^revision$/],
    ['release: revision a string', start({ revision: 'latest' }), /^revision$/],
    ['release: empty mask', start({ mask: [] }), /^mask$/],
    ['release: mask outside placement', start({ mask: ['rz99z'] }), /^mask\.cells$/],
    ['release: revision that does not exist', start({ revision: 42 }), /^revision$/],
    ['release: more groups than pods', start({ strategy: { groups: 9 } }), /^strategy\.groups$/],
    ['release: unknown field', start({ app: 'other' }), /^\(body\)$/],
    ['release: requestedBy is not the caller to set', start({ requestedBy: 'mallory' }), /^\(body\)$/],
    [
      'release: check query Prometheus cannot parse',
      start({
        strategy: {
          gate: { type: 'auto', checks: [{ type: 'prometheus', name: 'e', query: 'sum(rate(x[1m])', successCondition: 'result < 1' }] },
        },
      }),
      /^strategy\.gate\.checks\[0\]\.query$/,
    ],
    [
      'release: check condition not over result',
      start({
        strategy: { gate: { type: 'auto', checks: [{ type: 'prometheus', name: 'e', query: 'up', successCondition: 'process.exit()' }] } },
      }),
      /^strategy\.gate\.checks\[0\]\.successCondition$/,
    ],
    [
      'release: check interval 0',
      start({ strategy: { gate: { type: 'auto', checks: [{ type: 'webhook', name: 'w', url: 'http://x', intervalSeconds: 0 }] } } }),
      /^strategy\.gate\.checks\[0\]\.intervalSeconds$/,
    ],
    [
      'release: check count 0',
      start({ strategy: { gate: { type: 'manual', checks: [{ type: 'compare', name: 'c', count: 0 }] } } }),
      /^strategy\.gate\.checks\[0\]\.count$/,
    ],
    [
      'release: webhook not http(s)',
      start({ strategy: { gate: { type: 'auto', checks: [{ type: 'webhook', name: 'w', url: 'gopher://x' }] } } }),
      /^strategy\.gate\.checks\[0\]\.url$/,
    ],
  ];

  test.each(cases)('%s', async (_name, req, field) => {
    const res = await call({ method: req.method, url: req.url, headers: auth(tokens.admin), raw: JSON.stringify(req.body) });
    expect(res.statusCode).toBe(400);
    const body = res.json() as { error: string; issues: { field: string; message: string }[] };
    expect(body.issues.some((i) => field.test(i.field))).toBe(true);
    expect(body.error).toMatch(/invalid/);
  });

  test('none of them started a release or registered an app', async () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
    await expect(h.client.workflow.getHandle(`release/acme/${app}`).describe()).rejects.toMatchObject({ name: 'WorkflowNotFoundError' });
    expect(await h.releases.getApp('acme', `${app}-x`)).toBeUndefined();
  });
});

test('Prometheus metrics count requests, actions and releases by status', async () => {
  const res = await fetch(`${base}/metrics`);
  const text = await res.text();
  expect(res.status).toBe(200);
  expect(text).toMatch(/barista_http_requests_total\{method="PUT",route="\/v1\/tenants\/:tenant\/apps\/:app",status="200"\} \d+/);
  expect(text).toMatch(/barista_release_actions_total\{action="approve"\} [1-9]/);
  expect(text).toMatch(/barista_releases\{state="succeeded"\} [1-9]/);
  // the worker counts the pods it moves and times the gates its releases wait at
  const app = uniqueName('metrics');
  const spec = (image: string) => ({ ...appBody, name: app, tenant: 'acme', template: { containers: [{ name: 'app', image }] } });
  const strategies = [{ groups: 1 }, { groups: 2, gate: { type: 'timed', seconds: 2 } }];
  const changed = async () =>
    (await h.metrics.podsChanged.get()).values.find((v) => v.labels.app === app && v.labels.cell === 'rz00a')?.value ?? 0;
  const counts: number[] = [];
  for (const [i, image] of ['registry.local/m:1', 'registry.local/m:2'].entries()) {
    await h.releases.upsertApp(spec(image), 'ada');
    await h.releases.result(await h.releases.startRelease({ app, tenant: 'acme', requestedBy: 'ada', strategy: strategies[i] }));
    counts.push(await changed());
  }
  // the first release creates the 2 pods (counted when it opens their gate, not when the gate keeper was first);
  // the second moves both
  expect(counts[0]).toBeLessThanOrEqual(2);
  expect(counts[1]! - counts[0]!).toBe(2);
  expect(await h.metrics.registry.getSingleMetricAsString('barista_pods_changed_total')).toContain(
    `barista_pods_changed_total{app="${app}",cell="rz00a"} ${counts[1]}`,
  );
  // one timed gate of 2 s between the second release's two groups
  const gates = await h.metrics.registry.getSingleMetricAsString('barista_gate_wait_seconds');
  const labels = `tenant="acme",app="${app}",gate="timed",outcome="passed"`;
  expect(gates).toContain(`barista_gate_wait_seconds_count{${labels}} 1`);
  const sum = Number(new RegExp(`barista_gate_wait_seconds_sum\\{${labels}\\} ([0-9.]+)`).exec(gates)?.[1]);
  expect(sum).toBeGreaterThanOrEqual(2);
  expect(gates).toContain(`barista_gate_wait_seconds_bucket{le="5",${labels}} 1`);
});

test('the OpenAPI document describes the routes', async () => {
  const doc = (await call({ method: 'GET', url: '/openapi.json' })).json();
  expect(doc.openapi).toMatch(/^3\./);
  expect(Object.keys(doc.paths)).toEqual(
    expect.arrayContaining([
      '/v1/tenants/{tenant}/apps/{app}',
      '/v1/tenants/{tenant}/apps/{app}/release',
      '/v1/tenants/{tenant}/apps/{app}/release/approve',
    ]),
  );
});

describe('idempotency keys, as payment APIs have them', () => {
  const startWith = (app: string, key: string, payload: unknown) =>
    call({
      method: 'POST',
      url: `/v1/tenants/acme/apps/${app}/release`,
      headers: { ...auth(tokens.releaser), 'idempotency-key': key },
      payload,
    });
  const register = async (app: string) =>
    expect(
      (await call({ method: 'PUT', url: `/v1/tenants/acme/apps/${app}`, headers: auth(tokens.releaser), payload: appBody })).statusCode,
    ).toBe(200);
  const manual = { strategy: { groups: 2, gate: { type: 'manual' } } };

  test('the same key with a different body is refused with 422 naming the key; nothing else starts', async () => {
    const app = uniqueName('idem-diff');
    await register(app);
    const first = await startWith(app, `k-${app}`, manual);
    expect(first.statusCode).toBe(201);
    const other = await startWith(app, `k-${app}`, { strategy: { groups: 1 } });
    expect(other.statusCode).toBe(422);
    expect(other.json().error).toMatch(new RegExp(`Idempotency-Key "k-${app}" was already used with a different request`));
    expect(other.json().issues[0].field).toBe('headers.idempotency-key');
    // defaults spelled out are the same request
    const spelled = await startWith(app, `k-${app}`, { strategy: { ...manual.strategy, mode: 'in-place', beta: 'none' }, queue: false });
    expect(spelled.statusCode).toBe(200);
    expect(spelled.json()).toEqual(first.json());
    await h.client.workflow.getHandle(first.json().workflowId, first.json().runId).terminate('test done');
  });

  test('100 concurrent starts with one key all get the same release: one 201, the rest 200', async () => {
    const app = uniqueName('idem-100');
    await register(app);
    const answers = await callMany(100, {
      method: 'POST',
      url: `/v1/tenants/acme/apps/${app}/release`,
      headers: { ...auth(tokens.releaser), 'idempotency-key': `k-${app}` },
      payload: manual,
    });
    const codes = answers.map((a) => a.statusCode);
    expect(codes.filter((c) => c === 201)).toHaveLength(1);
    expect(codes.filter((c) => c === 200)).toHaveLength(99);
    const runs = new Set(answers.map((a) => a.json().runId as string));
    expect(runs.size).toBe(1);
    const [runId] = [...runs];
    const listed = await eventually('the one release listed', async () => {
      const { releases } = (
        await call({ method: 'GET', url: `/v1/tenants/acme/releases?app=${app}`, headers: auth(tokens.viewer) })
      ).json() as { releases: { runId: string }[] };
      return releases.length ? releases : undefined;
    });
    expect(listed.map((r) => r.runId)).toEqual([runId]);
    await h.client.workflow.getHandle(`release/acme/${app}`, runId).terminate('test done');
  });

  test('a finished release is found by its key, also after a later release of the App', async () => {
    const app = uniqueName('idem-done');
    await register(app);
    const first = await startWith(app, `k1-${app}`, { strategy: { groups: 1 } });
    expect(first.statusCode).toBe(201);
    expect((await h.releases.result(first.json())).state).toBe('succeeded');
    const replay = await startWith(app, `k1-${app}`, { strategy: { groups: 1 } });
    expect([replay.statusCode, replay.json()]).toEqual([200, first.json()]);
    const second = await startWith(app, `k2-${app}`, { strategy: { groups: 1 } });
    expect(second.statusCode).toBe(201);
    await h.releases.result(second.json());
    // the first key still names the first release (found among earlier runs), its lifetime is 24 h
    await eventually('the earlier run found by its key', async () => {
      const again = await startWith(app, `k1-${app}`, { strategy: { groups: 1 } });
      return again.statusCode === 200 && again.json().runId === first.json().runId ? again : undefined;
    });
    expect((await startWith(app, `k1-${app}`, { strategy: { groups: 2 } })).statusCode).toBe(422);
  });
});

describe('registration refuses what could never be released: 400 naming the field, nothing registered', () => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['an unknown cell', { placement: { cells: ['rz00a', 'rz99z'] } }, /^placement\.cells\[1\]$/],
    ["another tenant's cell", { placement: { cells: ['rz02a'] } }, /^placement\.cells\[0\]$/],
    [
      'an invalid annotation key',
      { template: { containers: [{ name: 'app', image: 'registry.local/api:1' }], annotations: { 'bad key!': 'x' } } },
      /^template\.annotations\.bad key!$/,
    ],
    [
      'an invalid env name',
      { template: { containers: [{ name: 'app', image: 'registry.local/api:1', env: { 'LOG-LEVEL': 'debug' } }] } },
      /^template\.containers\[0\]\.env\.LOG-LEVEL$/,
    ],
    ['an invalid env name in an override', { overrides: { rz00a: { env: { '9LIVES': 'x' } } } }, /^overrides\.rz00a\.env\.9LIVES$/],
    ['an override for a cell outside the placement', { overrides: { rz00b: { replicas: 1 } } }, /^overrides\.rz00b$/],
    ['the kube-system namespace', { namespace: 'kube-system' }, /^namespace$/],
  ];
  const names = cases.map(([what]) =>
    uniqueName(
      `reg-${what
        .split(' ')
        .at(-1)!
        .replace(/[^a-z]/g, '')}`,
    ),
  );

  test.each(cases.map((c, i) => [...c, names[i]!] as const))('%s', async (_what, change, field, app) => {
    const res = await putAsked(`/v1/tenants/acme/apps/${app}`, { ...appBody, ...change });
    expect(res.statusCode).toBe(400);
    const body = res.json() as { error: string; issues: { field: string; message: string }[] };
    expect(body.issues.some((i) => field.test(i.field))).toBe(true);
    // a foreign cell's owner is not told
    expect(body.error).not.toMatch(/globex/);
    const get = await call({ method: 'GET', url: `/v1/tenants/acme/apps/${app}`, headers: auth(tokens.viewer) });
    expect(get.statusCode).toBe(404);
  });

  test("the same cell is fine for its own tenant, and an App's cells are found in each of its clusters", async () => {
    expect(
      (await putAsked(`/v1/tenants/acme/apps/${uniqueName('reg-ok')}`, { ...appBody, placement: { cells: ['rz00a', 'rz01b'] } }))
        .statusCode,
    ).toBe(200);
  });
});

test('queue: true waits behind the release in flight, then starts at the revision latest at that moment', async () => {
  const app = uniqueName('queue');
  const url = `/v1/tenants/acme/apps/${app}`;
  const put = (image: string) =>
    call({
      method: 'PUT',
      url,
      headers: auth(tokens.releaser),
      payload: { ...appBody, template: { containers: [{ name: 'app', image }] } },
    });
  expect((await put('registry.local/q:1')).statusCode).toBe(200);
  const first = await call({
    method: 'POST',
    url: `${url}/release`,
    headers: auth(tokens.releaser),
    payload: { strategy: { groups: 2, gate: { type: 'manual' } } },
  });
  expect(first.statusCode).toBe(201);
  const firstRef = first.json() as { workflowId: string; runId: string };
  expect((await put('registry.local/q:2')).json()).toEqual({ revision: 2, created: true });

  // without queue: refused; with queue: 202 and a place in the queue behind the first
  expect((await call({ method: 'POST', url: `${url}/release`, headers: auth(tokens.releaser), payload: {} })).statusCode).toBe(409);
  const queued = await call({
    method: 'POST',
    url: `${url}/release`,
    headers: { ...auth(tokens.releaser), 'idempotency-key': `q-${app}` },
    payload: { queue: true, strategy: { groups: 1 } },
  });
  expect(queued.statusCode).toBe(202);
  expect(queued.json().queued).toMatchObject({ ticket: `q-${app}`, position: 1, status: `queued behind ${firstRef.runId}` });
  // the same key and request finds its place again
  const again = await call({
    method: 'POST',
    url: `${url}/release`,
    headers: { ...auth(tokens.releaser), 'idempotency-key': `q-${app}` },
    payload: { queue: true, strategy: { groups: 1 } },
  });
  expect([again.statusCode, again.json().queued.ticket]).toEqual([202, `q-${app}`]);
  // a second queued release waits behind the first queued one
  const later = await call({
    method: 'POST',
    url: `${url}/release`,
    headers: { ...auth(tokens.releaser), 'idempotency-key': `q2-${app}` },
    payload: { queue: true, strategy: { groups: 1 }, reason: 'second in the queue' },
  });
  expect(later.json().queued).toMatchObject({ position: 2, status: `queued behind ${firstRef.runId} and 1 queued release ahead` });
  const queue = await call({ method: 'GET', url: `${url}/release/queue`, headers: auth(tokens.viewer) });
  expect(queue.json().entries).toEqual([
    expect.objectContaining({ ticket: `q-${app}`, state: 'queued', requestedBy: 'rita', position: 1 }),
    expect.objectContaining({ ticket: `q2-${app}`, state: 'queued', position: 2 }),
  ]);

  const approve = await call({ method: 'POST', url: `${url}/release/approve`, headers: auth(tokens.approver), payload: { group: 0 } });
  expect(approve.statusCode).toBeLessThan(300);
  expect((await h.releases.result(firstRef)).state).toBe('succeeded');
  type Entry = { state: string; release?: { workflowId: string; runId: string }; status: string };
  const entries = async () =>
    (await call({ method: 'GET', url: `${url}/release/queue`, headers: auth(tokens.viewer) })).json().entries as Entry[];
  const started = await eventually(
    'the queued release started',
    async () => {
      const [head] = await entries();
      return head?.state === 'started' ? head : undefined;
    },
    60_000,
  );
  expect(started.status).toBe(`started as run ${started.release!.runId}`);
  const second = await h.releases.result(started.release!);
  expect(second).toMatchObject({ state: 'succeeded', from: 1, to: 2 });
  expect(second.audit.find((a) => a.action === 'requested')?.by).toBe('rita');
  // then the next one, only once the first queued release has ended
  const next = await eventually(
    'the second queued release started',
    async () => {
      const [, entry] = await entries();
      return entry?.state === 'started' ? entry : undefined;
    },
    60_000,
  );
  const third = await h.releases.result(next.release!);
  expect(third.state).toBe('succeeded');
  expect(Date.parse(third.startedAt)).toBeGreaterThanOrEqual(Date.parse(second.finishedAt!));
  // its key now names the release it became
  const replay = await call({
    method: 'POST',
    url: `${url}/release`,
    headers: { ...auth(tokens.releaser), 'idempotency-key': `q-${app}` },
    payload: { queue: true, strategy: { groups: 1 } },
  });
  expect([replay.statusCode, replay.json()]).toEqual([200, started.release]);
});

test('with Temporal down, the API answers 503 naming Temporal and its address', async () => {
  // a port nothing listens on (the shared sandbox's Temporal stays up)
  const port = await new Promise<number>((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
  const connection = Connection.lazy({ address: `127.0.0.1:${port}` });
  const down = new ReleaseClient(new Client({ connection }), 'nowhere');
  const downApi = await buildApi({
    releases: down,
    tokens: new TokenStore([{ name: 'ada', sha256: hashToken(tokens.admin), roles: ['admin'], tenants: ['*'] }]),
    logger: createLogger('api-down', 'error'),
  });
  const downBase = await downApi.listen({ port: 0, host: '127.0.0.1' });
  try {
    const ask = (method: string, path: string, payload?: unknown) =>
      fetch(`${downBase}${path}`, {
        method,
        headers: { ...auth(tokens.admin), ...(payload ? { 'content-type': 'application/json' } : {}) },
        ...(payload ? { body: JSON.stringify(payload) } : {}),
      });
    // in parallel: each waits out the Temporal client's own retries (about 20 s) first
    const answers = await Promise.all([
      ask('PUT', '/v1/tenants/acme/apps/x', appBody),
      ask('POST', '/v1/tenants/acme/apps/x/release', {}),
      ask('GET', '/v1/tenants/acme/apps/x/release'),
    ]);
    for (const res of answers) {
      expect(res.status).toBe(503);
      expect(((await res.json()) as { error: string }).error).toMatch(
        new RegExp(`^Temporal at 127\\.0\\.0\\.1:${port} is unavailable: .*ECONNREFUSED`),
      );
      expect(res.headers.get('retry-after')).toBe('5');
    }
  } finally {
    await downApi.close();
    await connection.close();
  }
});
