import { writeFile } from 'node:fs/promises';
import { stringify } from 'yaml';
import type { ClusterEndpoint } from './control-plane.js';

/** Writes one kubeconfig with a context per cluster, each named after its cluster. File mode 0600: it holds tokens. */
export async function writeKubeconfig(file: string, endpoints: ClusterEndpoint[], currentContext?: string): Promise<void> {
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    preferences: {},
    clusters: endpoints.map((e) => ({
      name: e.name,
      cluster: { server: e.server, 'certificate-authority-data': Buffer.from(e.ca).toString('base64') },
    })),
    users: endpoints.map((e) => ({ name: `${e.name}-admin`, user: { token: e.token } })),
    contexts: endpoints.map((e) => ({ name: e.name, context: { cluster: e.name, user: `${e.name}-admin` } })),
    'current-context': currentContext ?? endpoints[0]?.name ?? '',
  };
  await writeFile(file, stringify(doc), { mode: 0o600 });
}
