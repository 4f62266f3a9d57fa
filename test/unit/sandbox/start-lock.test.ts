import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { acquireStartLock, isRunning, readLock, startLockFile, StartLockHeldError } from '../../../sandbox/start-lock.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'barista-lock-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A PID that ran and is gone: a child that exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.exit(0)']);
  return child.pid;
}

const self = { pid: process.pid, script: process.argv[1] ?? '' };

test('the first start takes the lock (mode 0600); a second one is refused with the PID and addresses of the first', async () => {
  const lock = await acquireStartLock(dir, self);
  expect((await stat(lock.file)).mode & 0o777).toBe(0o600);
  // still starting: the refusal says so
  const early = await acquireStartLock(dir, self).catch((err: unknown) => err);
  expect(early).toBeInstanceOf(StartLockHeldError);
  expect((early as Error).message).toMatch(new RegExp(`already running on .* \\(PID ${process.pid}, since .*\\); it is still starting`));

  await lock.update({ addresses: { API: 'http://127.0.0.1:4321', Temporal: '127.0.0.1:7233' }, envFile: path.join(dir, 'env') });
  const second = await acquireStartLock(dir, self).catch((err: unknown) => err);
  expect(second).toBeInstanceOf(StartLockHeldError);
  const message = (second as StartLockHeldError).message;
  expect(message).toContain(`PID ${process.pid}`);
  expect(message).toContain('API:        http://127.0.0.1:4321');
  expect(message).toContain('Temporal:   127.0.0.1:7233');
  expect(message).toContain(`source ${path.join(dir, 'env')}`);
  expect(message).toContain(`kill ${process.pid}`);
  expect((second as StartLockHeldError).holder.pid).toBe(process.pid);

  // released: the next start takes it
  await lock.release();
  await expect(stat(lock.file)).rejects.toMatchObject({ code: 'ENOENT' });
  const next = await acquireStartLock(dir, self);
  expect(next.tookOver).toBeUndefined();
  await next.release();
});

test('a lock left by a process that no longer runs is taken over', async () => {
  const pid = deadPid();
  expect(isRunning({ pid, script: '' })).toBe(false);
  await writeFile(startLockFile(dir), JSON.stringify({ pid, script: 'sandbox/main.ts', startedAt: '2026-01-01T00:00:00Z', runDir: dir }));
  const lock = await acquireStartLock(dir, self);
  expect(lock.tookOver).toMatchObject({ pid });
  expect((await readLock(lock.file))?.pid).toBe(process.pid);
  await lock.release();
});

test('a torn or empty lock file (a crash while writing it) is taken over', async () => {
  await writeFile(startLockFile(dir), '{"pid": 12');
  const lock = await acquireStartLock(dir, self);
  expect((await readLock(lock.file))?.pid).toBe(process.pid);
  await lock.release();
});

test('a PID that now runs another program is a stale lock (PID reuse), where /proc tells', async () => {
  if (process.platform !== 'linux') return;
  const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
  try {
    expect(isRunning({ pid: sleeper.pid!, script: '/repo/sandbox/main.ts' })).toBe(false);
    expect(isRunning({ pid: sleeper.pid!, script: '' })).toBe(true);
    expect(isRunning({ pid: process.pid, script: self.script })).toBe(true);
  } finally {
    sleeper.kill();
  }
});

test('release leaves a lock another process holds alone', async () => {
  const lock = await acquireStartLock(dir, self);
  const other = { pid: process.ppid, script: '', startedAt: new Date().toISOString(), runDir: dir };
  await writeFile(lock.file, JSON.stringify(other));
  await lock.release();
  expect(JSON.parse(await readFile(lock.file, 'utf8'))).toMatchObject({ pid: process.ppid });
});
