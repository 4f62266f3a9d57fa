import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifySignature } from '../../activities/checks/signature.js';
import type { NotificationLinks } from '../../activities/notifications.js';
import type { Notification } from '../../domain/notifications.js';
import { tenantNotificationsId } from '../../workflows/notification-definitions.js';
import { eventually, uniqueName } from '../support/sandbox.js';
import { startReleaseHarness, type ReleaseHarness } from '../support/release-harness.js';
import { appSpec } from '../support/app-spec.js';
import { startHttpApi } from '../support/http-api.js';

/**
 * Notifications on the real sandbox, through the HTTP API: an admin sets a webhook (bad URL, short secret and a
 * viewer are refused; its secret is never shown); a real release tells a local HTTP server, signed with that
 * secret, that its gate needs an approval and then that it succeeded, with links to its status. The notifier is
 * terminated at the end: the sandbox is shared with the other test files.
 */
const tokens = { admin: 'nt-admin', viewer: 'nt-viewer' };
const SECRET = 'a-shared-secret-of-32-bytes-long';
const links: NotificationLinks = { temporalUi: 'http://temporal-ui.example' };

interface Received {
  headers: http.IncomingHttpHeaders;
  raw: string;
  body: Notification;
}
let received: Received[] = [];
let receiver: http.Server;
let receiverUrl: string;
let h: ReleaseHarness;
let api: Awaited<ReturnType<typeof startHttpApi>>;
const call: typeof api.call = (...args) => api.call(...args);

beforeAll(async () => {
  receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      received.push({ headers: req.headers, raw, body: JSON.parse(raw) as Notification });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/barista`;
  h = await startReleaseHarness({ notificationLinks: links });
  api = await startHttpApi(h, [
    { token: tokens.admin, name: 'ada', roles: ['admin'], tenants: ['acme'] },
    { token: tokens.viewer, name: 'vic', roles: ['viewer'], tenants: ['acme'] },
  ]);
  links.api = api.url; // read by the worker at each delivery
});
afterAll(async () => {
  // the notifier runs on this harness's own task queue, which no worker serves after this file
  await h?.client.workflow
    .getHandle(tenantNotificationsId('acme'))
    .terminate('test over')
    .catch(() => undefined);
  await api?.close();
  await h?.stop();
  await new Promise((resolve) => receiver?.close(resolve));
});

const route = (name = '') => `/v1/tenants/acme/notifications/webhooks${name ? `/${name}` : ''}`;

test('webhook settings: http(s) only, secrets of 16 bytes or more, admins only, the secret never shown', async () => {
  const ftp = await call('PUT', route('bad'), tokens.admin, { url: 'ftp://hooks.example/x', secret: SECRET });
  expect(ftp.status).toBe(400);
  expect(ftp.body.issues).toEqual([{ field: 'url', message: 'must be an http:// or https:// URL' }]);
  const short = await call('PUT', route('bad'), tokens.admin, { url: receiverUrl, secret: 'fifteen-bytes!!' });
  expect(short.status).toBe(400);
  expect(short.body.issues).toEqual([{ field: 'secret', message: 'must be at least 16 bytes' }]);
  expect(JSON.stringify(short.body)).not.toContain('fifteen-bytes!!');
  const event = await call('PUT', route('bad'), tokens.admin, { url: receiverUrl, secret: SECRET, events: ['exploded'] });
  expect(event.status).toBe(400);
  expect(event.body.issues[0].field).toBe('events[0]');
  expect((await call('PUT', route('bad'), tokens.viewer, { url: receiverUrl, secret: SECRET })).status).toBe(403);
  // a new webhook needs a secret
  const noSecret = await call('PUT', route('bad'), tokens.admin, { url: receiverUrl });
  expect(noSecret.status).toBe(400);
  expect(noSecret.body.error).toMatch(/webhook\.secret: is required for a new webhook/);
  expect((await call('GET', route(), tokens.viewer)).body).toEqual({ tenant: 'acme', webhooks: [] });

  const set = await call('PUT', route('ops'), tokens.admin, { url: 'https://hooks.example/ops', secret: SECRET });
  expect(set.status).toBe(200);
  expect(set.body).toMatchObject({ name: 'ops', url: 'https://hooks.example/ops', events: 'all', secretSet: true, updatedBy: 'ada' });
  // changed without a secret: it keeps the one it has
  const changed = await call('PUT', route('ops'), tokens.admin, { url: 'https://hooks.example/ops2', events: ['failed'] });
  expect(changed.body).toMatchObject({ url: 'https://hooks.example/ops2', events: ['failed'], secretSet: true });
  const list = await call('GET', route(), tokens.viewer);
  expect(list.status).toBe(200);
  expect(list.body.webhooks).toEqual([expect.objectContaining({ name: 'ops', secretSet: true })]);
  const one = await call('GET', route('ops'), tokens.viewer);
  expect(one.body).toMatchObject({ name: 'ops', secretSet: true });
  for (const body of [set.body, changed.body, list.body, one.body]) {
    expect(JSON.stringify(body)).not.toContain(SECRET);
    expect(JSON.stringify(body)).not.toMatch(/"secret"/);
  }
  expect((await call('DELETE', route('ops'), tokens.viewer)).status).toBe(403);
  expect((await call('DELETE', route('ops'), tokens.admin)).body).toEqual({ removed: 'ops' });
  expect((await call('DELETE', route('ops'), tokens.admin)).status).toBe(404);
  expect((await call('GET', route('ops'), tokens.viewer)).status).toBe(404);
});

test('a real release: the webhook receives needs-approval, then succeeded, signed with its secret and linking to the release', async () => {
  const app = uniqueName('notified');
  const spec = (image: string) => appSpec(app, image, { cells: ['rz00b'], replicasPerCell: 2 });
  await h.releases.upsertApp(spec(`registry.local/${app}:1`), 'alice');
  expect(
    (await h.releases.result(await h.releases.startRelease({ app, tenant: 'acme', requestedBy: 'alice', strategy: { groups: 1 } }))).state,
  ).toBe('succeeded');
  await h.releases.upsertApp(spec(`registry.local/${app}:2`), 'alice');
  const set = await call('PUT', route('receiver'), tokens.admin, {
    url: receiverUrl,
    secret: SECRET,
    events: ['needs-approval', 'succeeded'],
  });
  expect(set.status).toBe(200);
  received = [];

  const ref = await h.releases.startRelease({
    app,
    tenant: 'acme',
    requestedBy: 'alice',
    strategy: { groups: 2, gate: { type: 'manual' } },
  });
  const ofThisRelease = () => received.filter((r) => r.body.release.runId === ref.runId);
  const asked = await eventually('needs-approval at the receiver', async () => ofThisRelease()[0]);
  expect(asked.body).toMatchObject({
    event: 'needs-approval',
    tenant: 'acme',
    app,
    release: { workflowId: ref.workflowId, runId: ref.runId },
    revision: { from: 1, to: 2 },
    group: 0,
  });
  expect(asked.headers['x-barista-event']).toBe('needs-approval');
  expect(asked.headers['x-barista-delivery']).toBe(asked.body.id);
  expect(asked.headers[SIGNATURE_HEADER]).toMatch(/^sha256=[0-9a-f]{64}$/);
  const headersOf = (r: Received) => ({
    timestamp: r.headers[TIMESTAMP_HEADER] as string | undefined,
    signature: r.headers[SIGNATURE_HEADER] as string | undefined,
  });
  expect(verifySignature(SECRET, headersOf(asked), asked.raw)).toBe(true);
  expect(verifySignature('another-secret-of-some-length', headersOf(asked), asked.raw)).toBe(false);
  expect(verifySignature(SECRET, headersOf(asked), asked.raw.replace('"group":0', '"group":1'))).toBe(false);

  expect((await call('POST', `/v1/tenants/acme/apps/${app}/release/approve`, tokens.admin, {})).status).toBe(200);
  const done = await eventually('succeeded at the receiver', async () => ofThisRelease().find((r) => r.body.event === 'succeeded'));
  expect(ofThisRelease().map((r) => r.body.event)).toEqual(['needs-approval', 'succeeded']);
  expect(verifySignature(SECRET, headersOf(done), done.raw)).toBe(true);
  expect(done.body).toMatchObject({ reason: 'all 2 pods at revision 2', revision: { from: 1, to: 2 } });
  expect(done.body.links).toEqual({
    release: `${api.url}/v1/tenants/acme/apps/${app}/releases/${ref.runId}`,
    temporal: `http://temporal-ui.example/namespaces/${h.sandbox.info.temporalNamespace}/workflows/${encodeURIComponent(ref.workflowId)}/${ref.runId}/history`,
  });
  // the link answers with the release's status
  const status = await fetch(done.body.links!.release!, { headers: { authorization: `Bearer ${tokens.viewer}` } });
  expect(status.status).toBe(200);
  expect(((await status.json()) as { state: string }).state).toBe('succeeded');
  expect((await call('DELETE', route('receiver'), tokens.admin)).status).toBe(200);
});
