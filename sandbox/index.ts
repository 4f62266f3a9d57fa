import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startControlServer } from './control-server.js';
import { provisionAll } from './provision/index.js';
import { createProgress, type Progress } from './progress.js';
import { Sandbox, randomToken, type SandboxOptions } from './sandbox.js';

export { Sandbox, type SandboxInfo, type SandboxOptions } from './sandbox.js';
export { SandboxControl } from './control-client.js';
export { SandboxError } from './errors.js';
export { parseTopology, loadTopologyFile, DEFAULT_TOPOLOGY, type Topology, type TopologyInput } from './topology.js';
export { CELL_LABEL, CLUSTER_LABEL } from './kubelet/nodes.js';
export { createProgress, silentProgress, type Progress } from './progress.js';

export interface LaunchedSandbox {
  sandbox: Sandbox;
  /** `<runDir>/sandbox.json`: addresses, kubeconfig, control URL. */
  infoFile: string;
  stop: () => Promise<void>;
}

/**
 * Provisions (cached), starts the sandbox and its control server, and writes sandbox.json plus the
 * control token (mode 0600) into the run directory. Used by `npm start`, the test setup and benches.
 */
export async function launchSandbox(opts: SandboxOptions = {}): Promise<LaunchedSandbox> {
  const progress: Progress = opts.progress ?? createProgress();
  await provisionAll(progress);
  const sandbox = await Sandbox.start({ ...opts, progress });
  try {
    const token = randomToken();
    const control = await startControlServer(sandbox, token);
    sandbox.controlUrl = control.url;
    await writeFile(path.join(sandbox.runDir, 'control.token'), token, { mode: 0o600 });
    const infoFile = await sandbox.writeInfo();
    return {
      sandbox,
      infoFile,
      stop: async () => {
        await control.close();
        await sandbox.stop();
      },
    };
  } catch (err) {
    await sandbox.stop();
    throw err;
  }
}
export { TrafficGenerator, type TrafficStats } from './traffic/generator.js';
export { type RevisionFault, type RevisionFaultInput, type RevisionFaultTarget } from './traffic/request-model.js';
export { REQUEST_DURATION_BUCKETS } from './traffic/request-metrics.js';
