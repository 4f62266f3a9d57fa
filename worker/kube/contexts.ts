import { KubeConfig } from '@kubernetes/client-node';

/** One KubeConfig per context of a kubeconfig file (Barista's convention: one context per cluster, named after it). */
export function kubeConfigsByContext(file: string): Map<string, KubeConfig> {
  const base = new KubeConfig();
  base.loadFromFile(file);
  const result = new Map<string, KubeConfig>();
  for (const context of base.getContexts()) {
    const kc = new KubeConfig();
    kc.loadFromFile(file);
    kc.setCurrentContext(context.name);
    result.set(context.name, kc);
  }
  return result;
}
