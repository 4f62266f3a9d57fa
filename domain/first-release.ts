import type { PlannedGroup } from './plan-groups.js';

/**
 * A first release creates each cell's pods group by group, behind the same gates as any release. A StatefulSet
 * grows from ordinal 0 up, so the plan, made highest ordinal first, is mirrored per cell: the cell's k-th pod
 * to change becomes ordinal k. Group sizes and the spread over cells stay exactly as planned.
 */
export function lowestOrdinalsFirst(groups: PlannedGroup[], replicasOf: (cell: string) => number): PlannedGroup[] {
  return groups.map((g) => ({
    ...g,
    pods: g.pods.map((p) => {
      const ordinal = replicasOf(p.cell) - 1 - p.ordinal;
      return { ...p, ordinal, name: `${p.name.slice(0, p.name.lastIndexOf('-'))}-${ordinal}` };
    }),
  }));
}

/** Replicas a cell runs once groups 0..`through` are done: the number of its pods in them. */
export function replicasThrough(groups: PlannedGroup[], through: number, cell: string): number {
  return groups.filter((g) => g.index <= through).reduce((n, g) => n + g.pods.filter((p) => p.cell === cell).length, 0);
}
