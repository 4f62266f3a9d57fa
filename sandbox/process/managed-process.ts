import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SandboxError } from '../errors.js';

const WATCHDOG = path.join(path.dirname(fileURLToPath(import.meta.url)), 'watchdog.sh');

export interface ProcessSpec {
  name: string;
  command: string;
  args: string[];
  logFile: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * A long-running child (etcd, kube-apiserver, Temporal...) run under a watchdog: closing the watchdog's stdin,
 * or this process dying, stops the child. Output goes to a log file, never to our console.
 */
export class ManagedProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<number | null> = Promise.resolve(null);

  constructor(readonly spec: ProcessSpec) {}

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(): void {
    if (this.running) return;
    const log = openSync(this.spec.logFile, 'a');
    const child = spawn(WATCHDOG, [this.spec.command, ...this.spec.args], {
      env: this.spec.env ?? process.env,
      stdio: ['pipe', log, log],
      detached: true, // own process group: we signal it as a whole, and Ctrl-C reaches only us
    });
    closeSync(log);
    this.child = child;
    this.exited = new Promise((resolve) => {
      child.on('exit', (code) => {
        killGroup(child.pid, 'SIGKILL'); // leftovers of the watchdog itself
        resolve(code);
      });
    });
    child.on('error', () => undefined);
    child.stdin?.on('error', () => undefined);
    child.unref();
  }

  /** Stops the child: ask nicely (close stdin → SIGTERM), then SIGKILL the group after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    child.stdin?.end();
    const timer = setTimeout(() => killGroup(child.pid, 'SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** Kills without grace: a crash, as a fault to inject. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    killGroup(child.pid, 'SIGKILL');
    await this.exited;
  }

  /** Polls `check` until it is true; fails fast if the process exits, or after `timeoutMs`, with the log's tail. */
  async waitUntilReady(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) throw this.failure(`${this.spec.name} exited during start-up`);
      if (await check().catch(() => false)) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw this.failure(`${this.spec.name} not ready after ${timeoutMs / 1000}s`);
  }

  logTail(lines = 30): string {
    try {
      return readFileSync(this.spec.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  private failure(message: string): SandboxError {
    return new SandboxError('PROCESS_FAILED', `${message} (log: ${this.spec.logFile})\n${this.logTail()}`, {
      process: this.spec.name,
    });
  }
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}
