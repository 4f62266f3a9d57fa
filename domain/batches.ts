/**
 * How a release splits the pods of one group (or of a rollback) into batches, each run by its own child
 * workflow, so no workflow's history grows with the size of the release: a batch of `MAX_PODS_PER_BATCH`
 * pods writes about 6 events per pod (well under Temporal's 10,240-event warning), and the release itself
 * writes a handful per batch.
 */
export const MAX_PODS_PER_BATCH = 250;

/** `pods` cut in order into batches of at most `size`, as even as possible (250 + 1 pods → 126 + 125, not 250 + 1). */
export function batchesOf<P>(pods: readonly P[], size = MAX_PODS_PER_BATCH): P[][] {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`batch size must be a positive integer, got ${size}`);
  if (pods.length === 0) return [];
  const count = Math.ceil(pods.length / size);
  const base = Math.floor(pods.length / count);
  const larger = pods.length % count;
  const batches: P[][] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    const n = base + (i < larger ? 1 : 0);
    batches.push(pods.slice(at, at + n));
    at += n;
  }
  return batches;
}

/**
 * The strategy's `maxConcurrentPods` shared among `batches` batches: how many batches run at once (one slot
 * each) and how many pods each slot moves at once. The lanes add up to min(maxConcurrentPods, pods) so a
 * release never has more pods in its per-pod protocol at once than the strategy allows.
 */
export function laneSlots(maxConcurrentPods: number, batchSizes: readonly number[]): number[] {
  const pods = batchSizes.reduce((a, b) => a + b, 0);
  const lanes = Math.min(maxConcurrentPods, pods);
  if (lanes < 1) return [];
  const slots = Math.min(batchSizes.length, lanes);
  return Array.from({ length: slots }, (_, i) => Math.floor(lanes / slots) + (i < lanes % slots ? 1 : 0));
}
