import type { ClusterTopology } from '../topology.js';

export const CELL_LABEL = 'barista.dev/cell';
export const CLUSTER_LABEL = 'barista.dev/cluster';

export interface SimulatedNode {
  name: string;
  cell: string;
  /** Index of the node in its cluster: gives it a host IP and a pod subnet. */
  index: number;
  hostIP: string;
  podSubnet: string;
}

/** The nodes of one cluster, named `<cell>-n<i>`, with addresses that are only ever written into status. */
export function planNodes(cluster: ClusterTopology, clusterIndex: number): SimulatedNode[] {
  const nodes: SimulatedNode[] = [];
  for (const cell of cluster.cells) {
    for (let i = 0; i < cell.nodes; i++) {
      const index = nodes.length;
      nodes.push({
        name: `${cell.name}-n${i}`,
        cell: cell.name,
        index,
        hostIP: `10.${100 + clusterIndex}.0.${index + 2}`,
        podSubnet: `10.${200 + clusterIndex}.${index}`,
      });
    }
  }
  return nodes;
}

export function nodeManifest(cluster: ClusterTopology, node: SimulatedNode) {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: node.name,
      labels: {
        [CELL_LABEL]: node.cell,
        [CLUSTER_LABEL]: cluster.name,
        'topology.kubernetes.io/zone': node.cell,
        'kubernetes.io/hostname': node.name,
        'kubernetes.io/os': 'linux',
        'barista.dev/tenant': cluster.tenant,
        'barista.dev/workspace': cluster.workspace,
      },
    },
  };
}

export function nodeStatus(node: SimulatedNode, up: boolean, now: Date) {
  return {
    capacity: { cpu: '32', memory: '128Gi', pods: '250' },
    allocatable: { cpu: '32', memory: '128Gi', pods: '250' },
    addresses: [
      { type: 'InternalIP', address: node.hostIP },
      { type: 'Hostname', address: node.name },
    ],
    nodeInfo: {
      machineID: node.name,
      systemUUID: node.name,
      bootID: node.name,
      kernelVersion: 'sandbox',
      osImage: 'barista sandbox',
      containerRuntimeVersion: 'sandbox://1',
      kubeletVersion: 'v1.34.10',
      kubeProxyVersion: '',
      operatingSystem: 'linux',
      architecture: 'amd64',
    },
    conditions: [
      {
        type: 'Ready',
        status: up ? 'True' : 'Unknown',
        reason: up ? 'KubeletReady' : 'NodeStatusUnknown',
        message: up ? 'simulated kubelet is posting ready status' : 'simulated kubelet stopped (fault injected)',
        lastHeartbeatTime: now,
        lastTransitionTime: now,
      },
    ],
  };
}
