import { ordinalOf, partitionFor } from '../../../domain/partition.js';

describe('partitionFor', () => {
  const at = (revisions: (string | undefined)[]) => (ordinal: number) => revisions[ordinal];

  test.each([
    ['no pod moved yet', ['a', 'a', 'a'], 3],
    ['the top pod moved', ['a', 'a', 'b'], 2],
    ['the top two moved', ['a', 'b', 'b'], 1],
    ['every pod moved', ['b', 'b', 'b'], 0],
    ['a gap holds the partition above it', ['b', 'a', 'b'], 2],
    ['a missing top pod holds everything', ['b', 'b', undefined], 3],
    ['a missing pod in the middle', ['b', undefined, 'b'], 2],
  ])('%s', (_what, revisions, expected) => {
    expect(partitionFor(revisions.length, at(revisions), 'b')).toBe(expected);
  });

  test('no replicas: partition 0', () => {
    expect(partitionFor(0, () => undefined, 'b')).toBe(0);
  });
});

describe('ordinalOf', () => {
  test.each([
    ['pay-rz00a', 'pay-rz00a-0', 0],
    ['pay-rz00a', 'pay-rz00a-12', 12],
    ['pay-rz00a', 'pay-rz00a-012', undefined],
    ['pay-rz00a', 'pay-rz00b-1', undefined],
    ['pay-rz00a', 'pay-rz00a-x', undefined],
  ])('%s / %s', (workload, pod, expected) => {
    expect(ordinalOf(workload, pod)).toBe(expected);
  });
});
