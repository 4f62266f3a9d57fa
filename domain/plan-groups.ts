import type { GroupSize, Strategy } from './strategy.js';

/** One pod of the plan: the workload of (app, cell) names it `<workload>-<ordinal>`. */
export interface PodRef {
  cell: string;
  name: string;
  ordinal: number;
}

export interface CellPods {
  cell: string;
  /** Pods of the cell in the order they should change. */
  pods: PodRef[];
}

export interface PlannedGroup {
  index: number;
  beta: boolean;
  pods: PodRef[];
}

/** A strategy that cannot be honoured for these pods; `field` names the strategy field to change. */
export class PlanError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'PlanError';
  }
}

export type GroupStrategy = Pick<Strategy, 'groups' | 'groupSizes' | 'beta'>;

/**
 * Splits the pods in scope into exactly the groups the strategy asks for, every pod in exactly one group and
 * no group empty; what cannot be honoured is refused with a `PlanError`, never reshaped. Pure and deterministic.
 *
 * - An optional beta group comes first: the first pod of every cell (`per-cell`) or of the largest cell (`single`).
 *   The groups after it share out the pods it left.
 * - `groups: N`: each cell's pods are split over the N groups as evenly as possible, smaller slices first, so
 *   after group g each cell has done floor(pods × (g+1) / N) of its pods: 10 pods over 2 cells in 3 groups gives
 *   1+1, 2+2, 2+2 (sizes 2, 4, 4). Only when every cell has fewer pods than groups would that leave a group
 *   empty; then a group that would be empty takes one pod early (each cell still within one pod of that pace):
 *   1 pod in each of 10 cells in 10 groups gives one pod per group, 2 pods in each of 4 cells in 3 groups 1, 3, 4.
 * - `groupSizes`: counts are pod counts, honoured exactly; a percentage is that share of the pods, rounded half
 *   up on the running total so the shares add up (25 % of 100 pods is 25 pods, 10 %, 40 %, 50 % always all of
 *   them). If the list adds up to fewer pods than there are, one more group takes the rest. Each group draws
 *   from every cell in proportion: a cell gives pods × group size / all pods, rounded down or up.
 * - In both cases each cell gives every group its share of it, rounded down or up, and after every group it has
 *   given its share of the groups so far, rounded down or up: no cell runs a whole pod ahead of or behind the
 *   others, and a cell with fewer pods than groups takes its turn in some group.
 * - Refused: more groups than pods, a percentage that comes to less than one pod, sizes adding up to more than
 *   the pods, and a beta group that leaves no pods for the groups after it.
 * - Within a cell, pods keep their given order: a cell's pods in group g all come before its pods in group g+1.
 */
export function planGroups(cells: CellPods[], strategy: GroupStrategy): PlannedGroup[] {
  const total = cells.reduce((n, c) => n + c.pods.length, 0);
  if (total === 0) throw new PlanError('placement', 'no pods in scope: the placement (after the mask) has no cells with replicas');
  const queues = cells.map((c) => [...c.pods]);
  const groups: PlannedGroup[] = [];

  if (strategy.beta !== 'none') groups.push({ index: 0, beta: true, pods: takeBeta(queues, strategy.beta) });

  const counts = queues.map((q) => q.length);
  const left = counts.reduce((a, b) => a + b, 0);
  if (left === 0) {
    throw new PlanError('strategy.beta', `the beta group takes all ${total} pods in scope and leaves none for the groups after it`);
  }
  const pods = strategy.beta === 'none' ? `${left} pods` : `${left} pods left after the beta group`;
  const { sizes, pace } = strategy.groupSizes
    ? listedSizes(strategy.groupSizes, left, pods)
    : evenlySplit(counts, strategy.groups ?? 1, pods);

  for (const perCell of apportion(counts, sizes, pace)) {
    // each cell gives the next pods of its own order, so its slices are prefixes in group order
    groups.push({ index: groups.length, beta: false, pods: queues.flatMap((q, i) => q.splice(0, perCell[i]!)) });
  }
  return groups;
}

/** Group sizes, and the share of every cell's pods done after each group: `pace.done[g] / pace.of`. */
interface Split {
  sizes: number[];
  pace: { done: number[]; of: number };
}

/** Takes the beta pods off the front of the cells' queues. */
function takeBeta(queues: PodRef[][], beta: 'per-cell' | 'single'): PodRef[] {
  const donors = beta === 'single' ? [queues.reduce((best, q) => (q.length > best.length ? q : best))] : queues;
  return donors.filter((q) => q.length > 0).map((q) => q.shift()!);
}

/**
 * `groups` groups at the pace of each cell split evenly, smaller slices first: after group g, the sum over cells
 * of floor(pods × (g+1) / groups). A group that would be empty (every cell has fewer pods than groups) is
 * raised to one pod; that never leaves too few pods for the groups after it, as there are at least as many pods
 * as groups.
 */
function evenlySplit(cells: number[], groups: number, pods: string): Split {
  const left = cells.reduce((a, b) => a + b, 0);
  if (groups > left) throw new PlanError('strategy.groups', `${groups} groups for ${pods}: there must be at most as many groups as pods`);
  const sizes: number[] = [];
  let before = 0;
  for (let g = 1; g <= groups; g++) {
    const done = Math.max(
      cells.reduce((sum, n) => sum + Math.floor((n * g) / groups), 0),
      before + 1,
    );
    sizes.push(done - before);
    before = done;
  }
  return { sizes, pace: { done: sizes.map((_, g) => g + 1), of: groups } };
}

/**
 * The listed sizes over `left` pods, plus a last group for the rest if they add up to less. Percentages are
 * rounded on the running total (boundary = round(sum so far)) in exact arithmetic, so 50 %, 50 % of 5 pods is
 * 3, 2 and 10 %, 40 %, 50 % always add up to every pod; counts are exact whatever comes before them.
 */
function listedSizes(list: GroupSize[], left: number, pods: string): Split {
  const scale = 10n ** BigInt(Math.max(0, ...list.map((s) => (typeof s === 'number' ? 0 : decimals(s)))));
  // the running total in units of 1 / (100 × scale) pod
  const unit = 100n * scale;
  let running = 0n;
  let boundary = 0;
  const sizes: number[] = [];
  for (const [i, size] of list.entries()) {
    running += typeof size === 'number' ? BigInt(size) * unit : percentUnits(size, scale) * BigInt(left);
    const next = Number((2n * running + unit) / (2n * unit));
    if (next > left) {
      throw new PlanError(
        `strategy.groupSizes[${i}]`,
        `the sizes up to ${JSON.stringify(size)} add up to ${next} pods, more than the ${pods}`,
      );
    }
    if (next === boundary) throw new PlanError(`strategy.groupSizes[${i}]`, `${size} of ${pods} is less than one pod`);
    sizes.push(next - boundary);
    boundary = next;
  }
  if (boundary < left) sizes.push(left - boundary);
  let done = 0;
  return { sizes, pace: { done: sizes.map((size) => (done += size)), of: left } };
}

function decimals(percent: string): number {
  return percent.slice(0, -1).split('.')[1]?.length ?? 0;
}

/** "12.5%" → 125 × scale / 10: the percentage in units of 1 / scale percent, exactly. */
function percentUnits(percent: string, scale: bigint): bigint {
  const [whole = '0', fraction = ''] = percent.slice(0, -1).split('.');
  return (BigInt(whole + fraction) * scale) / 10n ** BigInt(fraction.length);
}

/**
 * How many pods each cell gives to each group, `perGroup[g][i]`, for cells of `cells[i]` pods, groups of exactly
 * `sizes[g]` pods, at `pace`: T = cells[i] × pace.done[g] / pace.of is the cell's share of the groups up to g,
 * and t = T minus the same for g - 1 its share of group g. Every cell gives floor(t) or ceil(t) pods to each
 * group and has given floor(T) or ceil(T) after each group.
 *
 * It starts every cell at floor(t) and chooses which cells give one pod more ("extras"): greedily, the extra
 * that is due soonest first (ties to the earlier cell), then, if that left any unplaced, by augmenting paths as
 * in bipartite matching, which places them all whenever any placement can. One always can: with `groupSizes`
 * the exact shares are a fractional solution of the flow these bounds describe, so an integral one exists; with
 * `groups` the floors themselves are one, except when sizes were raised to avoid an empty group, a case the unit
 * tests check exhaustively for small cells and at random for large ones.
 */
function apportion(cells: number[], sizes: number[], pace: Split['pace']): number[][] {
  const extras = extraPods(cells, sizes, pace);
  const placement = new Placement(cells.length, sizes.length, extras.perGroup);
  placeGreedily(extras, placement);
  for (;;) {
    const unplaced = extras.all.filter((e) => placement.groupOf(e) < 0);
    if (unplaced.length === 0) break;
    if (!placement.augment(unplaced, extras)) throw new Error(`no balanced plan for cells ${cells.join(',')} in groups ${sizes.join(',')}`);
  }
  return sizes.map((_, g) => cells.map((_, i) => extras.floor[i]![g]! + (placement.has(i, g) ? 1 : 0)));
}

/** One pod a cell gives beyond floor(t) to some group between `from` and `until` (inclusive). */
interface Extra {
  id: number;
  cell: number;
  from: number;
  until: number;
}

interface Extras {
  /** floor(t) for cell i and group g. */
  floor: number[][];
  /** Whether t is fractional: only then may the cell give one pod more to that group. */
  fractional: boolean[][];
  /** How many extras each group takes: its size minus the floors. */
  perGroup: number[];
  /**
   * Each cell's extras in order: the k-th (from 0) may go to a group once ceil(T) minus the cell's floors so far
   * exceeds k (`from`), and must have gone by the group where floor(T) minus those floors exceeds k (`until`).
   */
  byCell: Extra[][];
  all: Extra[];
}

function extraPods(cells: number[], sizes: number[], pace: Split['pace']): Extras {
  const { done, of } = pace;
  const step = done.map((d, g) => d - (done[g - 1] ?? 0));
  const floor = cells.map((n) => step.map((d) => Math.floor((n * d) / of)));
  const fractional = cells.map((n) => step.map((d) => (n * d) % of !== 0));
  const perGroup = sizes.map((s, g) => s - floor.reduce((sum, row) => sum + row[g]!, 0));
  const all: Extra[] = [];
  const byCell = cells.map((n, i) => {
    const mayFrom: number[] = [];
    const mustBy: number[] = [];
    let floors = 0;
    done.forEach((d, g) => {
      floors += floor[i]![g]!;
      const lower = Math.floor((n * d) / of) - floors;
      const upper = lower + ((n * d) % of === 0 ? 0 : 1);
      while (mayFrom.length < upper) mayFrom.push(g);
      while (mustBy.length < lower) mustBy.push(g);
    });
    return mustBy.map((until, k) => {
      const extra = { id: all.length, cell: i, from: mayFrom[k]!, until };
      all.push(extra);
      return extra;
    });
  });
  return { floor, fractional, perGroup, byCell, all };
}

/** Which group each extra is placed in; at most one extra per (cell, group), at most `capacity[g]` per group. */
class Placement {
  private readonly group: number[] = [];
  private readonly occupant = new Map<number, Extra>();
  private readonly load: number[];

  constructor(
    private readonly cells: number,
    private readonly groups: number,
    private readonly capacity: number[],
  ) {
    this.load = capacity.map(() => 0);
  }

  groupOf(e: Extra): number {
    return this.group[e.id] ?? -1;
  }

  has(cell: number, g: number): boolean {
    return this.occupant.has(cell * this.groups + g);
  }

  full(g: number): boolean {
    return this.load[g]! >= this.capacity[g]!;
  }

  move(e: Extra, g: number): void {
    const from = this.groupOf(e);
    if (from >= 0) {
      this.occupant.delete(e.cell * this.groups + from);
      this.load[from]!--;
    }
    this.occupant.set(e.cell * this.groups + g, e);
    this.load[g]!++;
    this.group[e.id] = g;
  }

  /**
   * One augmenting path from any unplaced extra: an extra moves to a group it may go to, displacing the extra
   * of its own cell there or, if that group is full, any extra of that group, which moves on in turn, until one
   * lands in a group with room. Breadth-first, so the path is short; false if there is none.
   */
  augment(unplaced: Extra[], extras: Extras): boolean {
    const cameFrom = new Map<Extra, { extra: Extra; group: number } | undefined>(unplaced.map((e) => [e, undefined]));
    const expanded = new Set<number>();
    const queue = [...unplaced];
    for (let head = 0; head < queue.length; head++) {
      const e = queue[head]!;
      for (let g = e.from; g <= e.until; g++) {
        if (g === this.groupOf(e) || !extras.fractional[e.cell]![g]) continue;
        const displaced = this.has(e.cell, g) ? [this.occupant.get(e.cell * this.groups + g)!] : [];
        if (displaced.length === 0 && !this.full(g)) {
          this.shiftAlong(cameFrom, e, g);
          return true;
        }
        if (displaced.length === 0 && !expanded.has(g)) {
          expanded.add(g);
          for (let i = 0; i < this.cells; i++) if (this.has(i, g)) displaced.push(this.occupant.get(i * this.groups + g)!);
        }
        for (const d of displaced) {
          if (cameFrom.has(d)) continue;
          cameFrom.set(d, { extra: e, group: g });
          queue.push(d);
        }
      }
    }
    return false;
  }

  /** Applies a path backwards: the last extra moves first, so every group keeps within its capacity. */
  private shiftAlong(cameFrom: Map<Extra, { extra: Extra; group: number } | undefined>, last: Extra, g: number): void {
    let step: { extra: Extra; group: number } | undefined = { extra: last, group: g };
    while (step) {
      this.move(step.extra, step.group);
      step = cameFrom.get(step.extra); // the extra that takes the place this one just left
    }
  }
}

/** Each group takes its extras from the cells whose next extra is due soonest (ties to the earlier cell). */
function placeGreedily(extras: Extras, placement: Placement): void {
  const next = extras.byCell.map(() => 0);
  extras.perGroup.forEach((room, g) => {
    const candidates: Extra[] = [];
    extras.byCell.forEach((queue, i) => {
      while (next[i]! < queue.length && queue[next[i]!]!.until < g) next[i]!++; // overdue: left to augmenting paths
      const e = queue[next[i]!];
      if (e && e.from <= g && extras.fractional[i]![g]) candidates.push(e);
    });
    candidates.sort((a, b) => a.until - b.until || a.cell - b.cell);
    for (const e of candidates.slice(0, room)) {
      placement.move(e, g);
      next[e.cell]!++;
    }
  });
}

/** Pods of one cell for `replicas` replicas of a workload, highest ordinal first (as StatefulSets update). */
export function cellPods(cell: string, workload: string, replicas: number): CellPods {
  const pods: PodRef[] = [];
  for (let ordinal = replicas - 1; ordinal >= 0; ordinal--) pods.push({ cell, name: `${workload}-${ordinal}`, ordinal });
  return { cell, pods };
}
