/**
 * Revision-safe workloads. A cell's StatefulSet uses `RollingUpdate` with a `partition`: the controller
 * recreates a pod with ordinal ≥ partition from the new template (the update revision) and one below it from
 * the previous one (the current revision). Barista lowers the partition only past pods it has already moved
 * to the update revision, so a pod deleted by hand, by a crash or by a lost node comes back at the revision
 * its group was approved for, and after an abort the workload still describes what every pod runs.
 */

/**
 * The lowest partition that keeps every pod at or above it on `updateRevision`: counting down from the top
 * ordinal, it stops at the first pod that is missing or on another revision. `revisionOf(ordinal)` is the pod's
 * controller revision label, undefined when the pod does not exist.
 */
export function partitionFor(replicas: number, revisionOf: (ordinal: number) => string | undefined, updateRevision: string): number {
  let partition = replicas;
  while (partition > 0 && revisionOf(partition - 1) === updateRevision) partition--;
  return partition;
}

/** Ordinal of a StatefulSet pod named `<workload>-<ordinal>`, or undefined for any other name. */
export function ordinalOf(workload: string, pod: string): number | undefined {
  if (!pod.startsWith(`${workload}-`)) return undefined;
  const rest = pod.slice(workload.length + 1);
  return /^(0|[1-9][0-9]*)$/.test(rest) ? Number(rest) : undefined;
}
