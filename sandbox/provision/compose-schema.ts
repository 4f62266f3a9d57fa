import { existsSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { cacheDir, REPO_ROOT } from '../paths.js';
import type { Progress } from '../progress.js';
import { runCommand } from '../run-command.js';

const REQUIREMENTS = path.join(REPO_ROOT, 'sandbox', 'provision', 'compose-requirements.txt');

export function composeSchemaPath(): string {
  return path.join(cacheDir(), 'compose-spec-1.29.2', 'compose_spec.json');
}

/** Ensures the Compose Specification JSON schema is in the cache (from the docker-compose wheel on PyPI). */
export async function ensureComposeSchema(progress: Progress): Promise<string> {
  const target = composeSchemaPath();
  if (existsSync(target)) return target;
  const dir = path.dirname(target);
  return progress.step('fetching the Compose Specification schema (docker-compose wheel from PyPI)', async () => {
    const download = `${dir}.download`;
    await rm(download, { recursive: true, force: true });
    await mkdir(download, { recursive: true });
    const python = process.env.PYTHON ?? 'python3';
    await runCommand(
      python,
      [
        '-m',
        'pip',
        'download',
        '--no-deps',
        '--no-input',
        '--disable-pip-version-check',
        '--timeout',
        '60',
        '--require-hashes',
        '-r',
        REQUIREMENTS,
        '-d',
        download,
      ],
      {
        timeoutMs: 5 * 60_000,
        what: 'fetching docker-compose==1.29.2 from PyPI (for compose_spec.json)',
      },
    );
    const wheel = (await readdir(download)).find((f) => f.endsWith('.whl'));
    if (!wheel) throw new Error(`no wheel downloaded into ${download}`);
    await mkdir(dir, { recursive: true });
    const script =
      'import sys,zipfile; open(sys.argv[2],"wb").write(zipfile.ZipFile(sys.argv[1]).read("compose/config/compose_spec.json"))';
    await runCommand(python, ['-c', script, path.join(download, wheel), target], {
      timeoutMs: 60_000,
      what: 'extracting compose_spec.json',
    });
    await rm(download, { recursive: true, force: true });
    return target;
  });
}
