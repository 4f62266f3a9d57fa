/** How long a cluster has to answer a probe: a disaster-mode release skips a cluster that does not, so keep it short. */
export const PROBE_TIMEOUT_MS = 3_000;
/** How often a disaster-mode release probes its clusters, and how many probes in a row must fail to lose one. */
export const PROBE_INTERVAL_MS = 2_000;
export const PROBES_TO_LOSE = 2;

/** What one probe of a cluster found. */
export type ClusterProbe = { cluster: string; reachable: true } | { cluster: string; reachable: false; reason: string };
