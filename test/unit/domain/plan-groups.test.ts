import fc from 'fast-check';
import { cellPods, planGroups, PlanError, type CellPods } from '../../../domain/index.js';

const cells = (...sizes: number[]): CellPods[] => sizes.map((n, i) => cellPods(`c${i}`, `app-c${i}`, n));
const shape = (groups: ReturnType<typeof planGroups>, cellCount: number) =>
  groups.map((g) => Array.from({ length: cellCount }, (_, i) => g.pods.filter((p) => p.cell === `c${i}`).length));

test('10 pods over 2 cells in 3 groups → 1+1, 2+2, 2+2', () => {
  expect(shape(planGroups(cells(5, 5), { groups: 3, beta: 'none' }), 2)).toEqual([
    [1, 1],
    [2, 2],
    [2, 2],
  ]);
});

test('uneven cells are drawn in proportion', () => {
  expect(shape(planGroups(cells(5, 4), { groups: 3, beta: 'none' }), 2)).toEqual([
    [1, 1],
    [2, 1],
    [2, 2],
  ]);
});

test('a beta group takes one pod per cell, or one pod in total', () => {
  expect(shape(planGroups(cells(3, 3), { groups: 2, beta: 'per-cell' }), 2)).toEqual([
    [1, 1],
    [1, 1],
    [1, 1],
  ]);
  const single = planGroups(cells(3, 4), { groups: 1, beta: 'single' });
  expect(single[0]).toMatchObject({ beta: true, pods: [expect.objectContaining({ cell: 'c1' })] });
  expect(single[1]!.pods).toHaveLength(6);
});

test('group sizes as counts and percentages; the last group takes the rest', () => {
  expect(planGroups(cells(10, 10), { groupSizes: ['10%', '40%'], beta: 'none' }).map((g) => g.pods.length)).toEqual([2, 8, 10]);
  expect(planGroups(cells(5, 5), { groupSizes: [2, 4], beta: 'none' }).map((g) => g.pods.length)).toEqual([2, 4, 4]);
});

test('highest ordinal changes first, as StatefulSets update', () => {
  expect(planGroups(cells(3), { groups: 3, beta: 'none' }).map((g) => g.pods[0]!.name)).toEqual(['app-c0-2', 'app-c0-1', 'app-c0-0']);
});

test('more groups than pods, or no pods, is refused naming the field', () => {
  expect(() => planGroups(cells(1, 1), { groups: 3, beta: 'none' })).toThrow(
    new PlanError('strategy.groups', '3 groups for 2 pods: there must be at most as many groups as pods'),
  );
  expect(() => planGroups(cells(0), { groups: 1, beta: 'none' })).toThrow(PlanError);
  expect(() => planGroups(cells(10), { groupSizes: ['1%'], beta: 'none' })).toThrow(/less than one pod/);
});

describe('properties', () => {
  const arbitraryPlan = fc.record({
    sizes: fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 6 }).filter((s) => s.some((n) => n > 0)),
    groups: fc.integer({ min: 1, max: 12 }),
    beta: fc.constantFrom('none' as const, 'per-cell' as const, 'single' as const),
  });

  test('every pod is in exactly one group, no group is empty', () => {
    fc.assert(
      fc.property(arbitraryPlan, ({ sizes, groups, beta }) => {
        const input = cells(...sizes);
        let plan;
        try {
          plan = planGroups(input, { groups, beta });
        } catch (err) {
          return err instanceof PlanError && err.field === 'strategy.groups';
        }
        const planned = plan.flatMap((g) => g.pods.map((p) => p.name)).sort();
        const all = input.flatMap((c) => c.pods.map((p) => p.name)).sort();
        return JSON.stringify(planned) === JSON.stringify(all) && plan.every((g) => g.pods.length > 0);
      }),
    );
  });

  test('with equal cells, each group takes the same number of pods from every cell (±1)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 1, max: 10 }),
        (cellCount, perCell, groups) => {
          fc.pre(groups <= perCell * cellCount && groups <= perCell);
          const plan = planGroups(cells(...Array<number>(cellCount).fill(perCell)), { groups, beta: 'none' });
          return shape(plan, cellCount).every((row) => Math.max(...row) - Math.min(...row) <= 1);
        },
      ),
    );
  });

  test("each cell's share of a group is its even share, floor or ceil", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 30 }), { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 1, max: 8 }),
        (sizes, groups) => {
          fc.pre(groups <= Math.min(...sizes));
          const plan = planGroups(cells(...sizes), { groups, beta: 'none' });
          return shape(plan, sizes.length).every((row) =>
            row.every((n, i) => n === Math.floor(sizes[i]! / groups) || n === Math.ceil(sizes[i]! / groups)),
          );
        },
      ),
    );
  });
});
