import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { uniqueName } from '../support/sandbox.js';
import { startReleaseHarness, type ReleaseHarness } from '../support/release-harness.js';
import { startHttpApi } from '../support/http-api.js';

/** `barista app history` and `barista revision mark-bad|mark-good`, run as processes against the real API and sandbox. */
const bin = fileURLToPath(new URL('../../cli/bin.js', import.meta.url));
let h: ReleaseHarness;
let api: Awaited<ReturnType<typeof startHttpApi>>;
beforeAll(async () => {
  h = await startReleaseHarness();
  api = await startHttpApi(h, [
    { token: 'cli-revs-releaser', name: 'rel', roles: ['releaser'], tenants: ['acme'] },
    { token: 'cli-revs-viewer', name: 'view', roles: ['viewer'], tenants: ['acme'] },
  ]);
});
afterAll(async () => {
  await api?.close();
  await h?.stop();
});

function barista(token: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { env: { ...process.env, BARISTA_ENDPOINT: api.endpoint, BARISTA_TOKEN: token }, timeout: 120_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

test('app history lists revisions with who, images and cells; revision mark-bad/mark-good record a mark a plain start respects', async () => {
  const app = uniqueName('clirev');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'barista-cli-revs-'));
  const file = path.join(dir, 'app.yaml');
  const apply = async (image: string) => {
    writeFileSync(
      file,
      `name: ${app}\ntenant: acme\nworkspace: prod\nreplicasPerCell: 1\nplacement: { cells: [rz00b] }\ntemplate:\n  containers: [{ name: web, image: "${image}" }]\n`,
    );
    return barista('cli-revs-releaser', 'app', 'apply', '-f', file);
  };
  expect((await apply('registry.local/clirev:1')).stdout).toMatch(/revision 1 created/);
  expect((await barista('cli-revs-releaser', 'release', 'start', `acme/${app}`, '--groups', '1')).code).toBe(0);
  expect((await barista('cli-revs-releaser', 'release', 'status', `acme/${app}`, '--watch')).code).toBe(0);
  expect((await apply('registry.local/clirev:2')).stdout).toMatch(/revision 2 created/);

  const history = await barista('cli-revs-viewer', 'app', 'history', `acme/${app}`);
  expect(history.code).toBe(0);
  const lines = history.stdout.split('\n');
  expect(lines[0]).toBe(`acme/${app}: latest revision 2, 2 kept (newest first)`);
  expect(lines[1]).toMatch(/^REV +CREATED +BY +IMAGES +CELLS +MARK$/);
  expect(lines[2]).toMatch(/^2\* +\d{4}-\d\d-\d\dT\S+ +rel +web=registry\.local\/clirev:2 +-$/);
  expect(lines[3]).toMatch(/^1 +\d{4}-\d\d-\d\dT\S+ +rel +web=registry\.local\/clirev:1 +rz00b$/);

  const denied = await barista('cli-revs-viewer', 'revision', 'mark-bad', `acme/${app}`, '2', '--reason', 'crash loop');
  expect(denied.code).toBe(4);
  expect(denied.stderr).toMatch(/403: view \(roles viewer\) may not revision:mark/);
  const noReason = await barista('cli-revs-releaser', 'revision', 'mark-bad', `acme/${app}`, '2');
  expect(noReason.code).toBe(1);
  expect(noReason.stderr).toMatch(/required option '--reason <text>' not specified/);
  const unknown = await barista('cli-revs-releaser', 'revision', 'mark-bad', `acme/${app}`, '9', '--reason', 'x');
  expect(unknown.code).toBe(1);
  expect(unknown.stderr).toMatch(new RegExp(`404: revision 9 of acme/${app} does not exist; kept revisions: 1, 2`));

  const marked = await barista('cli-revs-releaser', 'revision', 'mark-bad', `acme/${app}`, '2', '--reason', 'crash loop');
  expect(marked.code).toBe(0);
  expect(marked.stdout.trim()).toBe(`acme/${app} revision 2 marked bad by rel`);
  const shown = (await barista('cli-revs-viewer', 'app', 'history', `acme/${app}`)).stdout.split('\n');
  expect(shown[2]).toMatch(/^2\* .* -  +BAD$/);
  expect(shown[3]).toMatch(/^ +marked bad by rel at \S+: crash loop$/);

  const refused = await barista('cli-revs-releaser', 'release', 'start', `acme/${app}`, '--groups', '1');
  expect(refused.code).toBe(1);
  expect(refused.stderr).toMatch(
    /400: .*\n\s+revision: revision 2, the latest of acme\/clirev-.*, is marked bad .*give an explicit revision/,
  );

  const good = await barista('cli-revs-releaser', 'revision', 'mark-good', `acme/${app}`, '2', '--reason', 'fixed');
  expect(good.stdout.trim()).toBe(`acme/${app} revision 2 marked good by rel (was bad: crash loop)`);
  expect((await barista('cli-revs-viewer', 'app', 'history', `acme/${app}`, '--json')).stdout).toMatch(/"verdict": "good"/);
});
