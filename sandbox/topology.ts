import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ClusterAccessSchema } from '../domain/cluster-queues.js';
import { describeIssues, toFieldIssues } from '../domain/validation.js';
import { SandboxError } from './errors.js';

/** DNS-1123 label, as Kubernetes wants for names and label values we derive from it. */
const dnsLabel = z
  .string()
  .min(1, 'must not be empty')
  .max(40, 'must be at most 40 characters')
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be lowercase letters, digits and "-", starting and ending with a letter or digit');

export const CellTopologySchema = z.strictObject({
  name: dnsLabel,
  /** Simulated nodes in this cell, each labelled with the cell. */
  nodes: z.number().int().min(1).max(20).default(2),
});

export const ClusterTopologySchema = z.strictObject({
  name: dnsLabel,
  tenant: dnsLabel.default('acme'),
  workspace: dnsLabel.default('prod'),
  cells: z.array(CellTopologySchema).min(1, 'a cluster needs at least one cell').max(16),
  /** Simulated container start latency in milliseconds (image pull + start). */
  startLatencyMs: z.number().int().min(0).max(120_000).default(300),
  /** Fixed API server port; unset picks a free loopback port. */
  apiServerPort: z.number().int().min(1024).max(65535).optional(),
  /**
   * How Barista reaches the cluster (domain/cluster-queues.ts): `direct` from the central worker, or `agent`, through
   * an agent that holds only this cluster's kubeconfig and polls `barista-cluster-<name>` (worker/agent.ts).
   */
  access: ClusterAccessSchema.default('direct'),
});

export const TopologySchema = z
  .strictObject({
    clusters: z.array(ClusterTopologySchema).min(1, 'at least one cluster is needed').max(8, 'at most 8 clusters fit this machine'),
  })
  .superRefine((topology, ctx) => {
    const clusters = new Set<string>();
    const cells = new Map<string, string>();
    topology.clusters.forEach((cluster, i) => {
      if (clusters.has(cluster.name))
        ctx.addIssue({ code: 'custom', path: ['clusters', i, 'name'], message: `duplicate cluster name "${cluster.name}"` });
      clusters.add(cluster.name);
      cluster.cells.forEach((cell, j) => {
        const owner = cells.get(cell.name);
        if (owner !== undefined)
          ctx.addIssue({
            code: 'custom',
            path: ['clusters', i, 'cells', j, 'name'],
            message: `cell "${cell.name}" already belongs to cluster "${owner}"; a cell belongs to exactly one cluster`,
          });
        cells.set(cell.name, cluster.name);
      });
    });
  });

export type Topology = z.output<typeof TopologySchema>;
export type ClusterTopology = Topology['clusters'][number];
export type TopologyInput = z.input<typeof TopologySchema>;

/** Two clusters with two cells each, one tenant: the embedded default. */
export const DEFAULT_TOPOLOGY: TopologyInput = {
  clusters: [
    { name: 'kc1', cells: [{ name: 'rz00a' }, { name: 'rz00b' }] },
    { name: 'kc2', cells: [{ name: 'rz01a' }, { name: 'rz01b' }] },
  ],
};

/** Validates a topology; the error names every bad field and what is allowed. */
export function parseTopology(input: unknown, source = 'topology'): Topology {
  const result = TopologySchema.safeParse(input);
  if (result.success) return result.data;
  const issues = toFieldIssues(result.error);
  throw new SandboxError('INVALID_TOPOLOGY', `invalid ${source}: ${describeIssues(issues)}`, { issues });
}

export async function loadTopologyFile(file: string): Promise<Topology> {
  let raw: unknown;
  try {
    raw = parseYaml(await readFile(file, 'utf8'));
  } catch (err) {
    throw new SandboxError('INVALID_TOPOLOGY', `cannot read topology file ${file}: ${(err as Error).message}`, { file });
  }
  return parseTopology(raw, `topology file ${file}`);
}
