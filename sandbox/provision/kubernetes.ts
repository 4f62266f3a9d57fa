import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { KUBE_BINARIES, PINS, REPO_ROOT, kubeBinDir, kubeBinary } from '../paths.js';
import type { Progress } from '../progress.js';
import { runCommand } from '../run-command.js';

/** The wrapper module that requires k8s.io/kubernetes and etcd at pinned versions (go.mod + go.sum committed). */
const WRAPPER = path.join(REPO_ROOT, 'sandbox', 'k8s-build');

const [major, minor] = PINS.kubernetes.replace(/^v/, '').split('.');
const LDFLAGS = [
  '-s',
  '-w',
  `-X k8s.io/component-base/version.gitVersion=${PINS.kubernetes}`,
  `-X k8s.io/component-base/version.gitMajor=${major}`,
  `-X k8s.io/component-base/version.gitMinor=${minor}`,
  '-X k8s.io/component-base/version.gitTreeState=clean',
].join(' ');

/** Go package to build for each binary, relative to the wrapper module. */
const PACKAGES: Record<(typeof KUBE_BINARIES)[number], string> = {
  'kube-apiserver': './kube-apiserver',
  'kube-controller-manager': './kube-controller-manager',
  etcd: 'go.etcd.io/etcd/server/v3',
};

/**
 * Ensures kube-apiserver, kube-controller-manager and etcd are built from the Go module proxy into the cache.
 * Idempotent: binaries already in the versioned cache directory are kept. Builds into a temporary directory
 * and renames, so an interrupted build never leaves a half-written binary behind.
 */
export async function ensureKubernetesBinaries(progress: Progress): Promise<string> {
  const dir = kubeBinDir();
  const missing = KUBE_BINARIES.filter((name) => !existsSync(kubeBinary(name)));
  if (missing.length === 0) return dir;

  const env = { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-mod=readonly -buildvcs=false', GOTOOLCHAIN: 'local' };
  await progress.step(`fetching Go modules for Kubernetes ${PINS.kubernetes} and etcd ${PINS.etcd} from the Go module proxy`, () =>
    runCommand('go', ['mod', 'download'], {
      cwd: WRAPPER,
      env,
      timeoutMs: 30 * 60_000,
      what: `go mod download (k8s.io/kubernetes ${PINS.kubernetes}, go.etcd.io/etcd ${PINS.etcd})`,
    }),
  );
  const staging = `${dir}.building-${process.pid}`;
  await mkdir(staging, { recursive: true });
  try {
    for (const name of missing) {
      await progress.step(`building ${name} (first run only; several minutes on 2 cores)`, () =>
        runCommand('go', ['build', '-trimpath', '-ldflags', LDFLAGS, '-o', path.join(staging, name), PACKAGES[name]], {
          cwd: WRAPPER,
          env,
          timeoutMs: 60 * 60_000,
          what: `building ${name} from ${PACKAGES[name]}`,
        }),
      );
    }
    await mkdir(dir, { recursive: true });
    for (const name of missing) await rename(path.join(staging, name), kubeBinary(name));
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return dir;
}
