import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Pinned versions of everything the sandbox provisions. Change a pin here and the cache key changes with it. */
export const PINS = {
  temporalCli: '1.9.1',
  /** Temporal's time-skipping test server, for the fast workflow tests (test/workflow). */
  temporalTestServer: '1.40.0',
  kubernetes: 'v1.34.10',
  etcd: 'v3.6.4',
  /** Go module version of github.com/prometheus/prometheus; Prometheus 3.x is tagged v0.3MM.P for release 3.MM.P. */
  prometheus: 'v0.316.0',
} as const;

/** Root of the repository (this file lives in sandbox/). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Cache outside the repository, kept between runs: BARISTA_CACHE, else XDG_CACHE_HOME/barista, else ~/.cache/barista. */
export function cacheDir(): string {
  if (process.env.BARISTA_CACHE) return path.resolve(process.env.BARISTA_CACHE);
  const xdg = process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache');
  return path.join(xdg, 'barista');
}

export function temporalVenvDir(): string {
  return path.join(cacheDir(), `temporal-cli-${PINS.temporalCli}`);
}

export function temporalBinary(): string {
  return path.join(temporalVenvDir(), 'bin', 'temporal');
}

export function temporalTestServerVenvDir(): string {
  return path.join(cacheDir(), `temporal-test-server-${PINS.temporalTestServer}`);
}

export function temporalTestServerBinary(): string {
  return path.join(temporalTestServerVenvDir(), 'bin', 'temporal-test-server');
}

export function kubeBinDir(): string {
  return path.join(cacheDir(), `kubernetes-${PINS.kubernetes}-etcd-${PINS.etcd}`);
}

export const KUBE_BINARIES = ['kube-apiserver', 'kube-controller-manager', 'etcd'] as const;
export type KubeBinary = (typeof KUBE_BINARIES)[number];

export function kubeBinary(name: KubeBinary): string {
  return path.join(kubeBinDir(), name);
}

export function prometheusBinDir(): string {
  return path.join(cacheDir(), `prometheus-${PINS.prometheus}`);
}

export function prometheusBinary(): string {
  return path.join(prometheusBinDir(), 'prometheus');
}
