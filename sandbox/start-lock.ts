import { randomBytes } from 'node:crypto';
import { readFileSync, unlinkSync } from 'node:fs';
import { link, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SandboxError } from './errors.js';

/** What the lock file of a run directory says about the `npm start` that holds it. */
export interface StartLockInfo {
  pid: number;
  /** The holder's script (process.argv[1]), to tell a live holder from an unrelated process that reuses its PID. */
  script: string;
  startedAt: string;
  runDir: string;
  /** Filled in once everything is up: what a second start prints, e.g. `{ API: 'http://…', Temporal: '127.0.0.1:…' }`. */
  addresses?: Record<string, string>;
  /** The env file to source, once written. */
  envFile?: string;
}

/** `<runDir>/start.lock`: one `npm start` per run directory. */
export function startLockFile(runDir: string): string {
  return path.join(runDir, 'start.lock');
}

/** A second start on a run directory whose lock is held by a live process: says which and where it serves. */
export class StartLockHeldError extends SandboxError {
  constructor(readonly holder: StartLockInfo) {
    super('INVALID_INPUT', describeHolder(holder), { pid: holder.pid });
  }
}

function describeHolder(h: StartLockInfo): string {
  const lines = [
    `npm start is already running on ${h.runDir} (PID ${h.pid}, since ${h.startedAt})${h.addresses ? ':' : '; it is still starting'}`,
    ...Object.entries(h.addresses ?? {}).map(([what, where]) => `  ${`${what}:`.padEnd(12)}${where}`),
    ...(h.envFile ? [`  source ${h.envFile}`] : []),
    `Use that one, or stop it first (Ctrl-C in its terminal, or kill ${h.pid}).`,
  ];
  return lines.join('\n');
}

/** The lock this process holds: fill in its addresses once known, and give it up at the end. */
export interface StartLock {
  readonly file: string;
  /** The lock left by a process that no longer runs, when this one took it over. */
  readonly tookOver?: StartLockInfo;
  update(fields: Pick<StartLockInfo, 'addresses' | 'envFile'>): Promise<void>;
  release(): Promise<void>;
}

/**
 * Takes the start lock of `runDir`, or throws StartLockHeldError naming the process that holds it. A lock whose
 * process is gone (or whose PID now belongs to another program) is stale and taken over. The file appears
 * complete or not at all (written aside, then hard-linked into place, which fails if it exists); it is removed
 * on release and, as a last resort, when this process exits.
 */
export async function acquireStartLock(runDir: string, self: { pid: number; script: string } = ownProcess()): Promise<StartLock> {
  const file = startLockFile(runDir);
  const info: StartLockInfo = { pid: self.pid, script: self.script, startedAt: new Date().toISOString(), runDir };
  let tookOver: StartLockInfo | undefined;
  for (let attempt = 0; ; attempt++) {
    const tmp = `${file}.${self.pid}.${randomBytes(4).toString('hex')}`;
    await writeFile(tmp, JSON.stringify(info, null, 2), { mode: 0o600 });
    try {
      await link(tmp, file);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 3) throw err;
      const holder = await readLock(file);
      if (holder && isRunning(holder)) throw new StartLockHeldError(holder);
      // stale (or unreadable: a lock is never written in place, so a torn one is left by a crash): take it over
      tookOver = holder;
      await unlink(file).catch(() => undefined);
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
  }
  const removeOnExit = () => {
    try {
      unlinkSync(file);
    } catch {
      // gone already
    }
  };
  process.once('exit', removeOnExit);
  let current = info;
  return {
    file,
    ...(tookOver ? { tookOver } : {}),
    async update(fields) {
      current = { ...current, ...fields };
      // replaced by rename: a reader sees the old or the new content, never a torn file, and the lock stays held
      const tmp = `${file}.${self.pid}.${randomBytes(4).toString('hex')}`;
      await writeFile(tmp, JSON.stringify(current, null, 2), { mode: 0o600 });
      await rename(tmp, file);
    },
    async release() {
      process.removeListener('exit', removeOnExit);
      const holder = await readLock(file);
      if (holder?.pid === self.pid) await unlink(file).catch(() => undefined);
    },
  };
}

/** The lock's content, or undefined when there is no lock (or it cannot be parsed). */
export async function readLock(file: string): Promise<StartLockInfo | undefined> {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as Partial<StartLockInfo>;
    return typeof parsed.pid === 'number' && typeof parsed.runDir === 'string' ? (parsed as StartLockInfo) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether the lock's process still runs: signal 0 tells whether the PID exists (EPERM: it does, as another user's);
 * where /proc tells the command line, a PID now running something other than the holder's script is a reused PID.
 */
export function isRunning(holder: Pick<StartLockInfo, 'pid' | 'script'>): boolean {
  try {
    process.kill(holder.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const cmdline = readCmdline(holder.pid);
  // the script as its last two path segments (`sandbox/main.ts`): the command line may name it relative to the cwd
  const script = holder.script.split(path.sep).filter(Boolean).slice(-2).join('/');
  return cmdline === undefined || !script || cmdline.includes(script);
}

function readCmdline(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return undefined;
  }
}

function ownProcess(): { pid: number; script: string } {
  return { pid: process.pid, script: process.argv[1] ?? '' };
}
