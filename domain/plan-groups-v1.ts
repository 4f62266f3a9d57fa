import type { GroupSize, Strategy } from './strategy.js';
import { PlanError, type CellPods, type PlannedGroup, type PodRef } from './plan-groups.js';

/**
 * The group planner as it was before exact planning, kept unchanged for releases started before it: the
 * release workflow selects it behind `patched('exact-plan')` so that their histories replay to the same plan.
 * Do not fix it here (it cuts each cell at floor(n × fraction) and drops empty groups); use `planGroups`.
 */
export function planGroupsV1(cells: CellPods[], strategy: Pick<Strategy, 'groups' | 'groupSizes' | 'beta'>): PlannedGroup[] {
  const total = cells.reduce((n, c) => n + c.pods.length, 0);
  if (total === 0) throw new PlanError('placement', 'no pods in scope: the placement (after the mask) has no cells with replicas');
  const remaining = cells.map((c) => ({ cell: c.cell, pods: [...c.pods] }));
  const groups: PlannedGroup[] = [];

  if (strategy.beta !== 'none') {
    const beta: PodRef[] = [];
    const donors = strategy.beta === 'single' ? [largest(remaining)] : remaining;
    for (const c of donors) if (c.pods.length > 0) beta.push(c.pods.shift()!);
    groups.push({ index: 0, beta: true, pods: beta });
  }

  const left = remaining.reduce((n, c) => n + c.pods.length, 0);
  if (left > 0) {
    const fractions = cumulativeFractions(strategy, left);
    const perCell = remaining.map((c) => splitCell(c.pods, fractions));
    for (let g = 0; g < fractions.length; g++) {
      const pods = perCell.flatMap((slices) => slices[g] ?? []);
      if (pods.length > 0) groups.push({ index: groups.length, beta: false, pods });
    }
  }
  return groups;
}

/** Cumulative share of the (non-beta) pods done after each group; the last is always 1. */
function cumulativeFractions(strategy: Pick<Strategy, 'groups' | 'groupSizes'>, pods: number): number[] {
  if (strategy.groupSizes) {
    const fractions: number[] = [];
    let done = 0;
    for (const [i, size] of strategy.groupSizes.entries()) {
      done += toPods(size, pods, i);
      if (done >= pods) break;
      fractions.push(done / pods);
    }
    fractions.push(1);
    return fractions;
  }
  const groups = strategy.groups ?? 1;
  if (groups > pods) {
    throw new PlanError('strategy.groups', `${groups} groups for ${pods} pods: there must be at most as many groups as pods`);
  }
  return Array.from({ length: groups }, (_, g) => (g + 1) / groups);
}

function toPods(size: GroupSize, pods: number, index: number): number {
  if (typeof size === 'number') return size;
  const n = Math.round((parseFloat(size) / 100) * pods);
  if (n < 1) throw new PlanError(`strategy.groupSizes[${index}]`, `${size} of ${pods} pods is less than one pod`);
  return n;
}

/** A cell's pods cut at floor(n × fraction) for each cumulative fraction: smaller slices come first. */
function splitCell(pods: PodRef[], fractions: number[]): PodRef[][] {
  const slices: PodRef[][] = [];
  let from = 0;
  for (const f of fractions) {
    const to = f >= 1 ? pods.length : Math.max(from, Math.floor(pods.length * f + 1e-9));
    slices.push(pods.slice(from, to));
    from = to;
  }
  return slices;
}

function largest<T extends { pods: unknown[] }>(cells: T[]): T {
  return cells.reduce((best, c) => (c.pods.length > best.pods.length ? c : best));
}
