import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { PINS, REPO_ROOT, prometheusBinDir, prometheusBinary } from '../paths.js';
import type { Progress } from '../progress.js';
import { runCommand } from '../run-command.js';

/** The wrapper module that requires github.com/prometheus/prometheus at the pinned version (go.mod + go.sum committed). */
const WRAPPER = path.join(REPO_ROOT, 'sandbox', 'prometheus-build');

const PACKAGE = 'github.com/prometheus/prometheus/cmd/prometheus';

/** Prometheus 3.x publishes its Go module as v0.3MM.P for release 3.MM.P (v0.316.0 is Prometheus 3.16.0). */
export function prometheusRelease(moduleVersion: string = PINS.prometheus): string {
  const m = /^v0\.3(\d\d)\.(\d+)$/.exec(moduleVersion);
  if (!m) throw new Error(`unexpected Prometheus module version ${moduleVersion}: expected v0.3MM.P`);
  return `3.${Number(m[1])}.${m[2]}`;
}

const LDFLAGS = ['-s', '-w', `-X github.com/prometheus/common/version.Version=${prometheusRelease()}`].join(' ');

/**
 * Ensures the Prometheus server is built from the Go module proxy into the cache. Idempotent: a binary already in
 * the versioned cache directory is kept. Builds into a temporary directory and renames, so an interrupted build
 * never leaves a half-written binary behind. The build has no web UI assets (`builtinassets` is off): the HTTP API
 * (`/api/v1/query`, `/-/ready`) is all the sandbox uses.
 */
export async function ensurePrometheus(progress: Progress): Promise<string> {
  const binary = prometheusBinary();
  if (existsSync(binary)) return binary;

  const env = { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-mod=readonly -buildvcs=false', GOTOOLCHAIN: 'local' };
  await progress.step(`fetching Go modules for Prometheus ${prometheusRelease()} (${PINS.prometheus}) from the Go module proxy`, () =>
    runCommand('go', ['mod', 'download'], {
      cwd: WRAPPER,
      env,
      timeoutMs: 30 * 60_000,
      what: `go mod download (github.com/prometheus/prometheus ${PINS.prometheus})`,
    }),
  );
  const dir = prometheusBinDir();
  const staging = `${dir}.building-${process.pid}`;
  await mkdir(staging, { recursive: true });
  try {
    await progress.step('building prometheus (first run only; about 7 minutes on 2 cores)', () =>
      runCommand('go', ['build', '-trimpath', '-ldflags', LDFLAGS, '-o', path.join(staging, 'prometheus'), PACKAGE], {
        cwd: WRAPPER,
        env,
        timeoutMs: 60 * 60_000,
        what: `building prometheus from ${PACKAGE}`,
      }),
    );
    await mkdir(dir, { recursive: true });
    await rename(path.join(staging, 'prometheus'), binary);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return binary;
}
