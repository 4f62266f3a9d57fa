import type { FastifyInstance } from 'fastify';
import { hashToken, TokenStore } from '../../api/auth.js';
import { ReleaseClient } from '../../api/release-client.js';
import { buildApi } from '../../api/server.js';
import { RELEASE_ACTIONS } from '../../workflows/definitions.js';
import { createLogger } from '../../sandbox/logger.js';
import { uniqueName } from '../support/sandbox.js';
import { startReleaseHarness, type ReleaseHarness } from '../support/release-harness.js';
import { appSpec } from '../support/app-spec.js';

/**
 * The HTTP API's manners, over real HTTP on the sandbox: authentication before anything about the request is
 * validated, 405 with Allow, the Bearer scheme in any case, prototype keys refused by name, 409 for actions on an
 * ended release, and 503 at once (naming the task queue) when no worker polls the queue a release runs on.
 */
let h: ReleaseHarness;
const apis: FastifyInstance[] = [];
const tokens = { admin: 'hygiene-admin', releaser: 'hygiene-releaser' };
const store = new TokenStore([
  { name: 'ada', sha256: hashToken(tokens.admin), roles: ['admin'], tenants: ['*'] },
  { name: 'rita', sha256: hashToken(tokens.releaser), roles: ['releaser'], tenants: ['acme'] },
]);

/** The real API over `releases` on loopback; returns its base URL. */
async function listen(releases: ReleaseClient): Promise<string> {
  const api = await buildApi({ releases, tokens: store, logger: createLogger('api', 'warn') });
  apis.push(api);
  return api.listen({ port: 0, host: '127.0.0.1' });
}

let base = '';
beforeAll(async () => {
  h = await startReleaseHarness();
  base = await listen(h.releases);
});
afterAll(async () => {
  for (const api of apis) await api.close();
  await h?.stop();
});

async function call(
  method: string,
  url: string,
  opts: { authorization?: string; body?: string; base?: string } = {},
): Promise<{
  status: number;
  headers: Headers;
  json: { error?: string; issues?: { field: string; message: string }[] } & Record<string, unknown>;
}> {
  const res = await fetch(`${opts.base ?? base}${url}`, {
    method,
    headers: {
      ...(opts.authorization !== undefined ? { authorization: opts.authorization } : {}),
      ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(opts.body !== undefined ? { body: opts.body } : {}),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text ? JSON.parse(text) : {} };
}

const bearer = (token: string) => `Bearer ${token}`;

test('every /v1 route authenticates before it validates: a bad token with a bad body, path or query is a 401', async () => {
  const doc = (await call('GET', '/openapi.json')).json as { paths: Record<string, Record<string, unknown>> };
  const routes = Object.entries(doc.paths).flatMap(([p, methods]) =>
    Object.keys(methods).map((m) => ({ method: m.toUpperCase(), path: p })),
  );
  expect(routes.length).toBeGreaterThan(20);
  const failures: string[] = [];
  for (const { method, path } of routes) {
    // every path parameter invalid (uppercase, punctuation), an unknown query key, a body that matches no schema
    const url = `${path.replace(/\{[^}]+\}/g, 'NOT_VALID!')}?unknownQueryKey=1`;
    const body = method === 'GET' || method === 'DELETE' ? undefined : '{"unknownField": {"x": [1]}, "strategy": "nonsense"}';
    for (const authorization of [undefined, 'Bearer wrong-token', 'Basic YWxhZGRpbjpvcGVuc2VzYW1l']) {
      const res = await call(method, url, { ...(authorization ? { authorization } : {}), ...(body ? { body } : {}) });
      if (res.status !== 401) failures.push(`${method} ${path} (${authorization ?? 'no token'}): ${res.status} ${res.json.error}`);
    }
    // not even malformed JSON is looked at
    if (body) {
      const res = await call(method, url, { authorization: 'Bearer wrong-token', body: '{"not json' });
      if (res.status !== 401) failures.push(`${method} ${path} (malformed JSON): ${res.status} ${res.json.error}`);
    }
  }
  expect(failures).toEqual([]);

  // with a good token the same request is the 400 naming the field
  const bad = await call('POST', '/v1/tenants/acme/apps/x/release', {
    authorization: bearer(tokens.admin),
    body: '{"strategy":{"groups":"x"}}',
  });
  expect(bad.status).toBe(400);
  expect(bad.json.error).toMatch(/strategy\.groups/);
  const missing = await call('GET', '/v1/tenants/acme/releases');
  expect(missing.json.error).toMatch(/missing bearer token/);
});

test('a known path asked with a method it does not serve is a 405 with Allow; an unknown path a 404', async () => {
  const release = await call('DELETE', '/v1/tenants/acme/apps/shop/release', { authorization: bearer(tokens.admin) });
  expect(release.status).toBe(405);
  expect(release.headers.get('allow')).toBe('GET, HEAD, POST');
  expect(release.json.error).toBe('method DELETE is not allowed on /v1/tenants/acme/apps/shop/release; allowed: GET, HEAD, POST');

  const approve = await call('GET', '/v1/tenants/acme/apps/shop/release/approve', { authorization: bearer(tokens.admin) });
  expect(approve.status).toBe(405);
  expect(approve.headers.get('allow')).toBe('POST');

  const app = await call('PATCH', '/v1/tenants/acme/apps/shop?x=1', { body: '{}' });
  expect(app.status).toBe(405);
  expect(app.headers.get('allow')).toBe('GET, HEAD, PUT');

  const unknown = await call('GET', '/v1/tenants/acme/nothing-here', { authorization: bearer(tokens.admin) });
  expect(unknown.status).toBe(404);
  expect(unknown.json.error).toBe('no route GET /v1/tenants/acme/nothing-here');
});

test('the Bearer scheme is case-insensitive (RFC 7235); other schemes and a bad token are 401', async () => {
  for (const scheme of ['Bearer', 'bearer', 'BEARER', 'bEaReR'])
    expect((await call('GET', '/v1/tenants/acme/releases', { authorization: `${scheme} ${tokens.releaser}` })).status).toBe(200);
  expect((await call('GET', '/v1/tenants/acme/releases', { authorization: `bearer  ${tokens.releaser}` })).status).toBe(200);
  expect((await call('GET', '/v1/tenants/acme/releases', { authorization: `Token ${tokens.releaser}` })).status).toBe(401);
  expect((await call('GET', '/v1/tenants/acme/releases', { authorization: 'bearer nope' })).json.error).toBe('unknown or revoked token');
});

test('a body with a __proto__, constructor or prototype key is a 400 naming where the key is; nothing is written', async () => {
  const app = uniqueName('hygiene-proto');
  const url = `/v1/tenants/acme/apps/${app}`;
  const spec = '"workspace":"prod","replicasPerCell":1,"placement":{"cells":["rz00a"]}';
  const cases: [string, string][] = [
    [`{${spec},"__proto__":{"admin":true},"template":{"containers":[{"name":"app","image":"r/x:1"}]}}`, '__proto__'],
    [
      `{${spec},"template":{"containers":[{"name":"app","image":"r/x:1","constructor":{"prototype":{"x":1}}}]}}`,
      'template.containers[0].constructor',
    ],
    [
      `{${spec},"template":{"containers":[{"name":"app","image":"r/x:1"}],"annotations":{"prototype":"x"}}}`,
      'template.annotations.prototype',
    ],
  ];
  for (const [body, field] of cases) {
    const res = await call('PUT', url, { authorization: bearer(tokens.admin), body });
    expect(res.status).toBe(400);
    const key = field.split(/[.[]/).pop();
    expect(res.json.issues).toEqual([{ field, message: expect.stringContaining(`key "${key}" is not allowed`) }]);
    expect(res.json.error).toBe(
      `invalid body: ${field}: key "${key}" is not allowed (__proto__, constructor, prototype are refused anywhere in a body)`,
    );
  }
  const release = await call('POST', `${url}/release`, {
    authorization: bearer(tokens.admin),
    body: '{"strategy":{"__proto__":{"groups":1}}}',
  });
  expect(release.status).toBe(400);
  expect(release.json.issues).toEqual([{ field: 'strategy.__proto__', message: expect.any(String) }]);
  // a bad token still comes first
  expect((await call('PUT', url, { authorization: 'Bearer wrong', body: cases[0]![0] })).status).toBe(401);
  expect((await call('GET', url, { authorization: bearer(tokens.admin) })).status).toBe(404);
});

test('every action on a release that has ended is a 409 saying so', async () => {
  const app = uniqueName('hygiene-ended');
  await h.releases.upsertApp(appSpec(app, 'registry.local/ended:1', { cells: ['rz00a'], replicasPerCell: 1 }), 'rita');
  const ref = await h.releases.startRelease({ app, tenant: 'acme', requestedBy: 'rita', strategy: { groups: 1 } });
  // its workflow closed, not only its state written: what Temporal says of an Update to it is what is tested
  expect((await h.releases.result(ref)).state).toBe('succeeded');
  for (const action of RELEASE_ACTIONS) {
    const body = action === 'skip-pod' ? { pod: `${app}-0` } : action === 'bypass-window' ? { reason: 'test' } : {};
    const res = await call('POST', `/v1/tenants/acme/apps/${app}/release/${action}`, {
      authorization: bearer(tokens.admin),
      body: JSON.stringify(body),
    });
    expect({ action, status: res.status, error: res.json.error }).toEqual({
      action,
      status: 409,
      error: `${action} refused: release already finished (completed)`,
    });
  }
});

test('with no worker polling the release task queue, status and actions are a 503 within 5 s naming the queue', async () => {
  // the App is registered through the harness (its worker runs the App's entity); the release starts on a queue
  // nobody polls, as when every worker is down
  const app = uniqueName('hygiene-noworker');
  await h.releases.upsertApp(appSpec(app, 'registry.local/noworker:1', { cells: ['rz00a'], replicasPerCell: 1 }), 'rita');
  const taskQueue = uniqueName('nobody-polls');
  const orphan = new ReleaseClient(h.client, taskQueue);
  const ref = await orphan.startRelease({ app, tenant: 'acme', requestedBy: 'rita', strategy: { groups: 1 } });
  const orphanBase = await listen(orphan);
  try {
    for (const [method, path, body] of [
      ['GET', '', undefined],
      ['GET', '?view=summary', undefined],
      ['POST', '/pause', '{"reason":"drill"}'],
      ['POST', '/approve', '{}'],
    ] as const) {
      const started = Date.now();
      const res = await call(method, `/v1/tenants/acme/apps/${app}/release${path}`, {
        base: orphanBase,
        authorization: bearer(tokens.admin),
        ...(body ? { body } : {}),
      });
      expect({ path, status: res.status }).toEqual({ path, status: 503 });
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(res.headers.get('retry-after')).toBe('5');
      expect(res.json.error).toBe(
        `no Barista worker on task queue "${taskQueue}" (namespace default): no worker polls it (none has polled it); ` +
          'start one (`npm run worker`, or `npm start`) and retry',
      );
    }
    // the run by its id too
    const one = await call('GET', `/v1/tenants/acme/apps/${app}/releases/${ref.runId}`, {
      base: orphanBase,
      authorization: bearer(tokens.admin),
    });
    expect(one.status).toBe(503);
  } finally {
    await h.client.workflow.getHandle(ref.workflowId, ref.runId).terminate('test: no worker on its task queue');
  }
  // ended: an action is a 409 at once, no worker needed
  const late = await call('POST', `/v1/tenants/acme/apps/${app}/release/abort`, {
    base: orphanBase,
    authorization: bearer(tokens.admin),
    body: '{}',
  });
  expect(late.status).toBe(409);
  expect(late.json.error).toBe('abort refused: release already finished (terminated)');
});
