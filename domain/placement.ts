import { z } from 'zod';
import { dnsLabel } from './names.js';

const unique = (list: string[]) => new Set(list).size === list.length;

/**
 * Where an App lives: cells by name, clusters (every cell of the App's tenant in them, looked up when a release
 * plans: a cell added to the cluster later is part of the next release), or both. A cell is named once: in
 * `cells`, or through its cluster (checked against the clusters when the App is registered).
 */
export const PlacementSchema = z
  .strictObject({
    cells: z.array(dnsLabel).refine(unique, 'cells must not repeat').default([]),
    clusters: z.array(dnsLabel).refine(unique, 'clusters must not repeat').optional(),
  })
  .refine((p) => p.cells.length + (p.clusters?.length ?? 0) > 0, 'placement must name at least one cell or cluster');

export type Placement = z.output<typeof PlacementSchema>;

/**
 * Which part of the placement a release may change: a list of cells (as before clusters could be named), or
 * `{cells, clusters}` (a cluster: every cell of the placement in it). Normalized to the object form.
 */
export const MaskSchema = z.preprocess(
  (value) => (Array.isArray(value) ? { cells: value } : value),
  z
    .strictObject(
      {
        cells: z.array(dnsLabel).optional(),
        clusters: z.array(dnsLabel).optional(),
      },
      { error: 'mask must be a list of cells, or {cells: [...], clusters: [...]}' },
    )
    .refine((m) => (m.cells?.length ?? 0) + (m.clusters?.length ?? 0) > 0, 'a mask must name at least one cell or cluster'),
);

/** A mask as releases carry it: the object form, or a plain list of cells in releases started before clusters. */
export type Mask = z.output<typeof MaskSchema> | string[];

function maskParts(mask: Mask): { cells: string[]; clusters: string[] } {
  return Array.isArray(mask) ? { cells: mask, clusters: [] } : { cells: mask.cells ?? [], clusters: mask.clusters ?? [] };
}

/** The mask as a list of cells (its clusters' cells of the placement included), for audit lines and catch-ups. */
export function maskedCells(placement: string[], mask: Mask, clusterOf: (cell: string) => string | undefined): string[] {
  const { cells, clusters } = maskParts(mask);
  return placement.filter((cell) => cells.includes(cell) || clusters.includes(clusterOf(cell) ?? ''));
}

/**
 * Effective scope of a release: the App's placement ∩ the release's mask, in placement order, and what in the
 * mask is outside the placement (cells not in it, clusters holding none of its cells).
 */
export function effectiveScope(
  placement: string[],
  mask: Mask | undefined,
  clusterOf: (cell: string) => string | undefined = () => undefined,
): { scope: string[]; outside: { cells: string[]; clusters: string[] } } {
  if (!mask) return { scope: [...placement], outside: { cells: [], clusters: [] } };
  const { cells, clusters } = maskParts(mask);
  return {
    scope: maskedCells(placement, mask, clusterOf),
    outside: {
      cells: cells.filter((c) => !placement.includes(c)),
      clusters: clusters.filter((k) => !placement.some((cell) => clusterOf(cell) === k)),
    },
  };
}

/**
 * The cells of a placement once its clusters are looked up: the named cells first, then each named cluster's
 * cells (sorted), each cell once.
 */
export function placedCells(placement: Placement, cellsOfCluster: Record<string, string[]>): string[] {
  const cells = [...placement.cells];
  for (const cluster of placement.clusters ?? [])
    for (const cell of [...(cellsOfCluster[cluster] ?? [])].sort()) if (!cells.includes(cell)) cells.push(cell);
  return cells;
}

/** True when a release must look clusters up before it can plan: its placement or its mask names clusters. */
export function namesClusters(placement: Placement, mask: Mask | undefined): boolean {
  return (placement.clusters?.length ?? 0) > 0 || (!!mask && maskParts(mask).clusters.length > 0);
}
