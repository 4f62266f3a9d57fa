// Runs before `npm start` and `npm test` on any machine, fresh or not: installs the npm dependencies when
// they are missing or older than the lockfile, then provisions the sandbox binaries (cached). Plain ESM
// JavaScript on purpose: it must run before TypeScript tooling is installed.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const say = (line) => process.stderr.write(`[barista] ${line}\n`);

function run(cmd, args, what) {
  const started = Date.now();
  say(`${what} ...`);
  const result = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    say(`${what}: FAILED (${cmd} ${args.join(' ')} exited with ${result.status ?? result.signal})`);
    process.exit(result.status ?? 1);
  }
  say(`${what}: done in ${((Date.now() - started) / 1000).toFixed(1)}s`);
}

const installed = path.join(root, 'node_modules', '.package-lock.json');
const lock = path.join(root, 'package-lock.json');
if (!existsSync(installed) || statSync(installed).mtimeMs < statSync(lock).mtimeMs) {
  // `npm install --no-save` follows the lockfile exactly like `npm ci` would; npm 11 refuses `npm ci` when the
  // lockfile omits optional packages of other platforms, which npm 11 itself leaves out of it.
  run('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--loglevel=error'], 'installing npm dependencies');
}
run(
  process.execPath,
  [path.join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs'), 'sandbox/provision/main.ts'],
  'provisioning the sandbox substrate',
);
