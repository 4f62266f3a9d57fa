import { cellPods, planGroups } from '../../../domain/plan-groups.js';
import { lowestOrdinalsFirst, replicasThrough } from '../../../domain/first-release.js';

describe('first release: pods created group by group', () => {
  const cells = [cellPods('a', 'pay-a', 3), cellPods('b', 'pay-b', 2)];
  const replicas: Record<string, number> = { a: 3, b: 2 };
  const planned = planGroups(cells, { groups: 2, beta: 'none' });
  const mirrored = lowestOrdinalsFirst(planned, (c) => replicas[c]!);

  test('each cell takes its ordinals from 0 up, in the planned order, with the same group sizes', () => {
    expect(mirrored.map((g) => g.pods.length)).toEqual(planned.map((g) => g.pods.length));
    for (const cell of ['a', 'b']) {
      const order = mirrored.flatMap((g) => g.pods.filter((p) => p.cell === cell).map((p) => p.ordinal));
      expect(order).toEqual([...order.keys()]);
      for (const g of mirrored) for (const p of g.pods) expect(p.name).toBe(`pay-${p.cell}-${p.ordinal}`);
    }
  });

  test('replicas grow with the groups to the full count', () => {
    const last = mirrored.length - 1;
    expect(replicasThrough(mirrored, last, 'a')).toBe(3);
    expect(replicasThrough(mirrored, last, 'b')).toBe(2);
    const first = mirrored[0]!.pods;
    expect(replicasThrough(mirrored, 0, 'a')).toBe(first.filter((p) => p.cell === 'a').length);
    // a cell's pods so far are exactly ordinals 0 .. replicas-1, so growing the StatefulSet creates just them
    for (let g = 0; g <= last; g++)
      for (const cell of ['a', 'b']) {
        const ordinals = mirrored.slice(0, g + 1).flatMap((x) => x.pods.filter((p) => p.cell === cell).map((p) => p.ordinal));
        expect(ordinals.sort()).toEqual([...Array(replicasThrough(mirrored, g, cell)).keys()]);
      }
  });
});
