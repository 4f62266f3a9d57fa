import { spawn } from 'node:child_process';
import { SandboxError } from './errors.js';

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Kill the command and fail after this long, so a registry that never answers cannot hang us. */
  timeoutMs: number;
  /** Names what is being fetched or built, for the error message. */
  what: string;
}

/** Runs a command to completion; resolves with its output, rejects with a SandboxError naming `what`. */
export function runCommand(cmd: string, args: string[], opts: RunOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-20_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new SandboxError(
          'PROVISION_TIMEOUT',
          `${opts.what}: no result after ${opts.timeoutMs / 1000}s (command: ${cmd} ${args.join(' ')}). Is the package registry reachable?\n${tail(output)}`,
          {
            what: opts.what,
          },
        ),
      );
    }, opts.timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new SandboxError('PROVISION_FAILED', `${opts.what}: cannot run ${cmd}: ${err.message}`, { what: opts.what }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else
        reject(
          new SandboxError('PROVISION_FAILED', `${opts.what}: ${cmd} exited with ${code ?? signal}\n${tail(output)}`, {
            what: opts.what,
            exitCode: code,
          }),
        );
    });
  });
}

function tail(text: string, lines = 25): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}
