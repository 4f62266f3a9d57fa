import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApplicationFailure } from '@temporalio/common';
import { verifySignature } from '../../../activities/checks/signature.js';
import { createNotificationActivities } from '../../../activities/notifications.js';
import { NotificationFailureTypes, type Notification } from '../../../domain/notifications.js';

/** The delivery activity against a local receiver: signed body with links, and which answers are retried. */
let answer = 204;
const seen: { headers: http.IncomingHttpHeaders; raw: string }[] = [];
let server: http.Server;
let url: string;
beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ headers: req.headers, raw: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(answer).end('ignored');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

const secret = 'a-secret-of-sixteen-bytes';
const notification: Notification = {
  id: 'release/acme/shop/run-1/1',
  event: 'needs-approval',
  tenant: 'acme',
  app: 'shop',
  release: { workflowId: 'release/acme/shop', runId: 'run-1' },
  revision: { from: 1, to: 2 },
  group: 0,
  at: '2026-11-27T00:00:00.000Z',
};
const { deliverNotification } = createNotificationActivities({
  namespace: 'default',
  links: { api: 'https://barista.example/', temporalUi: 'https://temporal.example' },
});
const deliver = () => deliverNotification({ tenant: 'acme', webhook: { name: 'ops', url, secret }, notification });

test('a 2xx is delivered: signed with the webhook secret, the body with its links', async () => {
  answer = 204;
  await expect(deliver()).resolves.toEqual({ delivered: true, status: 204 });
  const { headers, raw } = seen.at(-1)!;
  expect(
    verifySignature(
      secret,
      { timestamp: headers['x-barista-timestamp'] as string, signature: headers['x-barista-signature'] as string },
      raw,
    ),
  ).toBe(true);
  expect(headers['x-barista-event']).toBe('needs-approval');
  expect(JSON.parse(raw)).toEqual({
    ...notification,
    links: {
      release: 'https://barista.example/v1/tenants/acme/apps/shop/releases/run-1',
      temporal: 'https://temporal.example/namespaces/default/workflows/release%2Facme%2Fshop/run-1/history',
    },
  });
});

test.each([
  [503, false],
  [429, false],
  [408, false],
  [400, true],
  [401, true],
])('an answer %d fails the attempt (non-retryable: %s), naming the status and never the secret', async (status, nonRetryable) => {
  answer = status;
  const err = await deliver().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  expect(err).toMatchObject({
    nonRetryable,
    type: nonRetryable ? NotificationFailureTypes.refused : NotificationFailureTypes.failed,
    details: [{ attempt: 1, status }],
    message: expect.stringMatching(new RegExp(`^webhook ops answered ${status}`)),
  });
  expect(String((err as Error).message)).not.toContain(secret);
});

test('a receiver that cannot be reached fails the attempt, retryable', async () => {
  const err = await deliverNotification({
    tenant: 'acme',
    webhook: { name: 'gone', url: 'http://127.0.0.1:1/nothing', secret },
    notification,
  }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toMatchObject({ nonRetryable: false, message: expect.stringMatching(/^webhook gone could not be reached/) });
});
