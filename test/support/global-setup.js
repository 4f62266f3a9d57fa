// Plain ESM: jest loads global setup outside its transform pipeline, so the TypeScript sandbox is loaded
// through tsx's loader.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tsImport } from 'tsx/esm/api';

/**
 * Starts one real sandbox (Temporal dev server, kube-apiserver + controller-manager per cluster, simulated
 * kubelets) for the whole integration run. Test files find it through BARISTA_SANDBOX_DIR.
 */
export default async function globalSetup() {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const { launchSandbox, loadTopologyFile } = await tsImport('../../sandbox/index.ts', import.meta.url);
  const topology = await loadTopologyFile(path.join(here, '..', 'fixtures', 'topology.yaml'));
  const launched = await launchSandbox({ topology });
  globalThis.__baristaSandbox = launched;
  process.env.BARISTA_SANDBOX_DIR = launched.sandbox.runDir;
  process.stderr.write(`[barista] sandbox for tests: ${launched.infoFile}\n`);
}
