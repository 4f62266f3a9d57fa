import fc from 'fast-check';
import { batchesOf, laneSlots, MAX_PODS_PER_BATCH } from '../../../domain/batches.js';

describe('batchesOf', () => {
  test('keeps every pod once, in order, in batches no larger than the size and within one of each other', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 1, max: 400 }), (n, size) => {
        const pods = Array.from({ length: n }, (_, i) => i);
        const batches = batchesOf(pods, size);
        expect(batches.flat()).toEqual(pods);
        expect(batches.length).toBe(Math.ceil(n / size));
        const sizes = batches.map((b) => b.length);
        if (n) expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
        expect(sizes.every((s) => s >= 1 && s <= size)).toBe(true);
      }),
    );
  });

  test('a 10,000-pod group becomes 40 batches of 250; 251 pods become 126 + 125', () => {
    expect(batchesOf(Array.from({ length: 10_000 }, (_, i) => i)).map((b) => b.length)).toEqual(Array(40).fill(MAX_PODS_PER_BATCH));
    expect(batchesOf(Array.from({ length: 251 }, (_, i) => i)).map((b) => b.length)).toEqual([126, 125]);
  });

  test('refuses a size that is not a positive integer', () => {
    expect(() => batchesOf([1], 0)).toThrow(/positive integer, got 0/);
  });
});

describe('laneSlots', () => {
  test('lanes add up to min(maxConcurrentPods, pods), one slot per running batch, never more slots than batches', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 500 }),
        fc.array(fc.integer({ min: 1, max: 250 }), { minLength: 1, maxLength: 60 }),
        (max, sizes) => {
          const slots = laneSlots(max, sizes);
          const pods = sizes.reduce((a, b) => a + b, 0);
          expect(slots.reduce((a, b) => a + b, 0)).toBe(Math.min(max, pods));
          expect(slots.length).toBeLessThanOrEqual(sizes.length);
          expect(slots.every((l) => l >= 1)).toBe(true);
          expect(Math.max(...slots) - Math.min(...slots)).toBeLessThanOrEqual(1);
        },
      ),
    );
  });

  test('examples: 10 lanes over 1 batch, 40 batches, and 3 pods', () => {
    expect(laneSlots(10, [8])).toEqual([8]);
    expect(laneSlots(10, Array(40).fill(250))).toEqual(Array(10).fill(1));
    expect(laneSlots(25, [250, 250, 250])).toEqual([9, 8, 8]);
    expect(laneSlots(10, [])).toEqual([]);
  });
});
