/**
 * Where a release's cells are when some clusters are agent-served (issue #16): the central worker locates the
 * cells of the clusters it reaches (`resolveCells`), each agent those of its own cluster (`cellsInCluster`), and
 * this merges the answers with the same rules as `resolveCells`: a cell of another tenant is refused, a cell no
 * cluster knows is refused.
 */
export interface CellsInClusterInput {
  cluster: string;
  tenant: string;
  /** The cells asked about; absent: every cell of the cluster (a placement by cluster). */
  cells?: string[];
}

export interface CellsInClusterResult {
  cluster: string;
  /** Cells of the tenant in this cluster. */
  mine: string[];
  /** Cells asked about that this cluster holds for another tenant. */
  foreign: string[];
}

/** The merged answer: every cell's cluster, or why the cells are refused (as `resolveCells` refuses them). */
export type CellLocations = { found: Record<string, string> } | { refused: { reason: 'forbidden' | 'unknownCell'; message: string } };

/** `cells` → cluster, from the central worker's partial answer (`central`: the cells it found) and the agents'. */
export function mergeCellLocations(
  tenant: string,
  cells: readonly string[],
  central: Readonly<Record<string, string>>,
  agents: readonly CellsInClusterResult[],
  agentClusters: readonly string[],
): CellLocations {
  const found: Record<string, string> = {};
  for (const cell of cells) if (central[cell]) found[cell] = central[cell];
  for (const answer of agents) for (const cell of answer.mine) if (cells.includes(cell)) found[cell] ??= answer.cluster;
  const foreign = [...new Set(agents.flatMap((a) => a.foreign))].filter((c) => cells.includes(c) && !found[c]).sort();
  if (foreign.length)
    return { refused: { reason: 'forbidden', message: `cells ${foreign.join(', ')} belong to another tenant than ${tenant}` } };
  const missing = cells.filter((c) => !found[c]);
  if (missing.length)
    return {
      refused: {
        reason: 'unknownCell',
        message: `cells ${missing.join(', ')} are not known in any cluster (the central worker's, or agent-served ${[...agentClusters].sort().join(', ')})`,
      },
    };
  return { found };
}
