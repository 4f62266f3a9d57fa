import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { hashToken, TokenStore } from '../../api/auth.js';
import type { ReleaseRef } from '../../api/release-client.js';
import { buildApi } from '../../api/server.js';
import { createLogger } from '../../sandbox/logger.js';
import { uniqueName } from '../support/sandbox.js';
import { startReleaseHarness, waitForStatus, type ReleaseHarness } from '../support/release-harness.js';
import { appSpec } from '../support/app-spec.js';

/**
 * Operator actions over HTTP are the release's Updates: answered synchronously, 200 with what was recorded,
 * 409 with the release's reason when it refuses, 404 when there is no release; the token's identity acts.
 */
let h: ReleaseHarness;
let api: FastifyInstance;
let base = '';
const tokens = { releaser: 'actions-releaser', approver: 'actions-approver' };

beforeAll(async () => {
  h = await startReleaseHarness();
  const store = new TokenStore([
    { name: 'rita', sha256: hashToken(tokens.releaser), roles: ['releaser'], tenants: ['acme'] },
    { name: 'april', sha256: hashToken(tokens.approver), roles: ['approver'], tenants: ['acme'] },
  ]);
  api = await buildApi({ releases: h.releases, tokens: store, logger: createLogger('api', 'warn') });
  base = await api.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(async () => {
  await api?.close();
  await h?.stop();
});

async function act(app: string, action: string, body: unknown, token = tokens.approver) {
  const res = await fetch(`${base}/v1/tenants/acme/apps/${app}/release/${action}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> & { error?: string } };
}

/** A first release of a fresh App (2 pods on rz00a, 2 groups, manual gate), waiting at its gate. */
async function atGate(): Promise<{ app: string; ref: ReleaseRef }> {
  const app = uniqueName('actions');
  await h.releases.upsertApp(appSpec(app, 'registry.local/actions:1', { cells: ['rz00a'], replicasPerCell: 2 }), 'rita');
  const ref = await h.releases.startRelease({
    app,
    tenant: 'acme',
    requestedBy: 'rita',
    strategy: { groups: 2, gate: { type: 'manual' } },
  });
  await waitForStatus(h.releases, ref, 'waiting at the gate after group 0', (s) => s.state === 'waiting-approval');
  return { app, ref };
}

test('refused actions are 409 with the reason and record nothing; `by` in the body is ignored: the token approves', async () => {
  const { app, ref } = await atGate();
  const audit = (await h.releases.status(ref)).audit.length;

  const group99 = await act(app, 'approve', { group: 99 });
  expect(group99.status).toBe(409);
  expect(group99.json.error).toMatch(/^approve refused: no gate for group 99/);
  const unknownPod = await act(app, 'skip-pod', { pod: `${app}-rz00a-9` });
  expect(unknownPod.status).toBe(409);
  expect(unknownPod.json.error).toBe(`skip-pod refused: pod ${app}-rz00a-9 is not in this release`);
  const firstRelease = await act(app, 'rollback', { reason: 'bad' }, tokens.releaser);
  expect(firstRelease.status).toBe(409);
  expect(firstRelease.json.error).toBe('rollback refused: nothing to roll back to (first release)');
  const notPaused = await act(app, 'resume', {}, tokens.releaser);
  expect(notPaused.status).toBe(409);
  expect(notPaused.json.error).toMatch(/not paused/);
  expect((await act(app, 'approve', { group: 'x' })).status).toBe(400);
  expect((await h.releases.status(ref)).audit).toHaveLength(audit);

  const ok = await act(app, 'approve', { group: 0, reason: 'lgtm', by: 'mallory' });
  expect(ok.status).toBe(200);
  expect(ok.json).toMatchObject({ action: 'approve', by: 'april', recorded: { by: 'april', action: 'approved', detail: 'group 0: lgtm' } });
  const final = await h.releases.result(ref);
  expect(final.state).toBe('succeeded');
  expect(final.gates[0]).toMatchObject({ state: 'passed', decidedBy: 'april' });
  expect(final.audit.filter((a) => a.action === 'approved').map((a) => a.by)).toEqual(['april']);
  expect(JSON.stringify(final.audit)).not.toContain('mallory');

  // the release has ended: every action is refused as such; an App without a release is a 404
  const late = await act(app, 'abort', {}, tokens.releaser);
  expect(late.status).toBe(409);
  expect(late.json.error).toMatch(/abort refused: release already finished/);
  expect((await act(uniqueName('never-released'), 'abort', {}, tokens.releaser)).status).toBe(404);
});

test('status views: summary (counts, no pods), one group or the current one; a bad view is a 400 naming the field', async () => {
  const { app, ref } = await atGate();
  const get = async (query: string) => {
    const res = await fetch(`${base}/v1/tenants/acme/apps/${app}/release${query}`, {
      headers: { authorization: `Bearer ${tokens.approver}` },
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> & { error?: string } };
  };
  const full = await get('');
  expect(full.json).toMatchObject({ detail: 'full', summary: { total: 2, byState: { done: 1, pending: 1 } } });
  expect(full.json.pods).toHaveLength(2);
  const summary = await get('?view=summary');
  expect(summary.json).toMatchObject({ detail: 'summary', pods: [], summary: { total: 2, byState: { done: 1, pending: 1 } } });
  expect(summary.json.groups).toEqual([
    { index: 0, beta: false, size: 1, done: 1, pods: [] },
    { index: 1, beta: false, size: 1, done: 0, pods: [] },
  ]);
  const current = await get('?group=current');
  expect(current.json).toMatchObject({ detail: 'group', pods: [{ name: `${app}-rz00a-0`, group: 0, state: 'done' }] });
  const group1 = await get('?group=1');
  expect(group1.json).toMatchObject({ detail: 'group', pods: [{ name: `${app}-rz00a-1`, group: 1, state: 'pending' }] });
  for (const bad of ['?group=x', '?group=-1', '?view=everything', '?pods=all']) {
    const res = await get(bad);
    expect(res.status).toBe(400);
    expect(res.json.error).toMatch(/group|view|pods/);
  }
  await h.releases.abort(ref, { by: 'rita' });
});

test('the CLI prints what was recorded, or the 409 reason and exits non-zero', async () => {
  const { app } = await atGate();
  const barista = (...args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [fileURLToPath(new URL('../../cli/bin.js', import.meta.url)), ...args],
        { env: { ...process.env, BARISTA_ENDPOINT: base, BARISTA_TOKEN: tokens.approver }, timeout: 120_000 },
        (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
  const refused = await barista('release', 'approve', `acme/${app}`, '--group', '99');
  expect(refused.code).not.toBe(0);
  expect(refused.stderr).toMatch(/409: approve refused: no gate for group 99/);
  const ok = await barista('release', 'approve', `acme/${app}`, '--group', '0');
  expect(ok.code).toBe(0);
  expect(ok.stdout).toMatch(/^approve accepted as april: approved group 0 \(release /);
});

test('multi-cluster inputs over HTTP: a bad mode or maxUnavailable is a 400 naming the field; a catch-up needs release:start and an ended release with a ledger', async () => {
  const { app, ref } = await atGate();
  const post = async (route: string, body: unknown, token = tokens.releaser) => {
    const res = await fetch(`${base}/v1/tenants/acme/apps/${app}/${route}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json()) as { error?: string; issues?: { field: string; message: string }[] } };
  };
  for (const [body, field] of [
    [{ mode: 'panic' }, 'mode'],
    [{ mode: 7 }, 'mode'],
    [{ strategy: { maxUnavailable: 0 } }, 'strategy.maxUnavailable'],
    [{ strategy: { maxUnavailable: '150%' } }, 'strategy.maxUnavailable'],
    [{ strategy: { maxUnavailable: 3 } }, 'strategy.maxUnavailable'], // the App has 2 pods
  ] as const) {
    const res = await post('release', body);
    expect([res.status, res.json.issues?.[0]?.field ?? res.json.error]).toEqual([400, field]);
  }
  // catch-up: an approver may not start one; a running release, then one with no ledger, are refused naming the field
  expect((await post(`releases/${ref.runId}/catch-up`, {}, tokens.approver)).status).toBe(403);
  const running = await post(`releases/${ref.runId}/catch-up`, {});
  expect([running.status, running.json.issues?.[0]?.field]).toEqual([400, 'release']);
  await h.releases.abort(ref, { by: 'rita' });
  await waitForStatus(h.releases, ref, 'aborted', (s) => s.state === 'aborted');
  const nothing = await post(`releases/${ref.runId}/catch-up`, {});
  expect([nothing.status, nothing.json.issues?.[0]?.field]).toEqual([400, 'ledger']);
  const unknownField = await post(`releases/${ref.runId}/catch-up`, { cells: ['rz00a'] });
  expect(unknownField.status).toBe(400);
  expect((await post('releases/not-a-run-id/catch-up', {})).status).toBe(400);
});
