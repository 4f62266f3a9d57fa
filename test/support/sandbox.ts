import { KubeConfig } from '@kubernetes/client-node';
import { SandboxControl, type SandboxInfo } from '../../sandbox/index.js';

export interface TestSandbox {
  info: SandboxInfo;
  control: SandboxControl;
  kubeConfig(cluster: string): KubeConfig;
}

/** The sandbox the global setup started (real Temporal + real kube-apiservers). */
export async function connectSandbox(): Promise<TestSandbox> {
  const dir = process.env.BARISTA_SANDBOX_DIR;
  if (!dir) throw new Error('BARISTA_SANDBOX_DIR is not set: run integration tests through jest (global setup starts the sandbox)');
  const { info, control } = await SandboxControl.fromRunDir(dir);
  return {
    info,
    control,
    kubeConfig(cluster) {
      const kc = new KubeConfig();
      kc.loadFromFile(info.kubeconfig);
      kc.setCurrentContext(cluster);
      return kc;
    },
  };
}

/** Polls until `check` returns a value (not undefined), or fails with `what` after `timeoutMs`. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e4)}`;
}
