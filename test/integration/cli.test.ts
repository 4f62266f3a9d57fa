import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { hashToken, TokenStore } from '../../api/auth.js';
import { buildApi } from '../../api/server.js';
import { createLogger } from '../../sandbox/logger.js';
import { eventually, uniqueName } from '../support/sandbox.js';
import { startReleaseHarness, type ReleaseHarness } from '../support/release-harness.js';

const bin = fileURLToPath(new URL('../../cli/bin.js', import.meta.url));
let h: ReleaseHarness;
let api: FastifyInstance;
let endpoint = '';

beforeAll(async () => {
  h = await startReleaseHarness();
  const tokens = new TokenStore([
    { name: 'rel', sha256: hashToken('cli-releaser'), roles: ['releaser'], tenants: ['acme'] },
    { name: 'appr', sha256: hashToken('cli-approver'), roles: ['approver'], tenants: ['acme'] },
  ]);
  api = await buildApi({ releases: h.releases, tokens, logger: createLogger('api', 'warn') });
  endpoint = await api.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(async () => {
  await api?.close();
  await h?.stop();
});

/** Runs the real `barista` command as a process; resolves with its exit code and output. */
function barista(token: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { env: { ...process.env, BARISTA_ENDPOINT: endpoint, BARISTA_TOKEN: token }, timeout: 120_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

test('the CLI applies an app, starts a release, watches it to the gate, approves it, and watches it finish', async () => {
  const app = uniqueName('cli');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'barista-cli-'));
  const file = path.join(dir, 'app.yaml');
  const yaml = (image: string) =>
    `name: ${app}\ntenant: acme\nworkspace: prod\nreplicasPerCell: 2\nplacement: { cells: [rz00a] }\ntemplate:\n  containers: [{ name: web, image: "${image}" }]\n`;
  writeFileSync(file, yaml('registry.local/cli:1'));
  expect((await barista('cli-releaser', 'app', 'apply', '-f', file)).stdout).toMatch(/revision 1 created/);
  expect((await barista('cli-releaser', 'release', 'start', `acme/${app}`, '--groups', '1')).code).toBe(0);
  expect((await barista('cli-releaser', 'release', 'status', `acme/${app}`, '--watch')).code).toBe(0);

  writeFileSync(file, yaml('registry.local/cli:2'));
  expect((await barista('cli-releaser', 'app', 'apply', '-f', file)).stdout).toMatch(/revision 2 created/);
  const started = await barista('cli-releaser', 'release', 'start', `acme/${app}`, '--groups', '2', '--gate', 'manual');
  expect(started.stdout).toMatch(new RegExp(`started release/acme/${app}`));

  const atGate = await barista('cli-releaser', 'release', 'status', `acme/${app}`, '--watch');
  expect(atGate.code).toBe(2); // waiting for a person
  expect(atGate.stdout).toMatch(/state WAITING-APPROVAL/);
  expect(atGate.stdout).toMatch(/gate manual: waiting/);

  const denied = await barista('cli-releaser', 'release', 'approve', `acme/${app}`);
  expect(denied.code).toBe(4);
  expect(denied.stderr).toMatch(/403: rel .* may not release:approve/);
  expect((await barista('cli-approver', 'release', 'approve', `acme/${app}`, '--reason', 'ok')).stdout).toMatch(
    /approve accepted as appr: approved group 0/,
  );

  const done = await barista('cli-releaser', 'release', 'status', `acme/${app}`, '--watch');
  expect(done.code).toBe(0);
  expect(done.stdout).toMatch(/state SUCCEEDED/);
  expect(done.stdout).toMatch(/gate manual: passed by appr/);

  // both releases are found through Temporal's search attributes
  // (visibility is eventually consistent: ask again until both are indexed)
  const listed = await eventually('both releases listed', async () => {
    const r = await barista('cli-releaser', 'release', 'list', 'acme', '--app', app);
    return r.stdout.split('\n').filter((l) => l.includes(`release/acme/${app}`) && l.includes('succeeded')).length === 2 ? r : undefined;
  });
  expect(listed.stdout).toMatch(/by rel/);
  // an earlier release, by the run id the list shows (newest first: the second line is the first release)
  const firstRun = /run (\S+)/.exec(listed.stdout.split('\n').filter((l) => l.includes(`release/acme/${app}`))[1]!)![1]!;
  const earlier = await barista('cli-releaser', 'release', 'status', `acme/${app}`, '--run', firstRun);
  expect(earlier.code).toBe(0);
  expect(earlier.stdout).toMatch(/revision - → 1 +state SUCCEEDED/);
  // the App is listed with its latest revision, released to its cell
  const apps = await eventually('the App listed', async () => {
    const r = await barista('cli-releaser', 'app', 'list', 'acme');
    return r.stdout.includes(app) ? r : undefined;
  });
  expect(apps.stdout.split('\n').find((l) => l.startsWith(app))).toMatch(/rev 2 .*rz00\w@2/);
});

test('bad input is reported with the field, and a non-zero exit', async () => {
  const r = await barista('cli-releaser', 'release', 'start', 'acme/whatever', '--groups', '0');
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/400: .*\n\s+strategy\.groups: /);
  expect((await barista('cli-releaser', 'release', 'status', 'not-a-ref')).stderr).toMatch(/"not-a-ref" is not <tenant>\/<app>/);
});
