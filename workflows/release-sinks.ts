import { proxySinks, type Sinks } from '@temporalio/workflow';
import type { GateStatus } from './release-status.js';

/** How long one gate held its release, and how it ended. */
export interface GateWait {
  tenant: string;
  app: string;
  gate: GateStatus['type'];
  /** The gate's state when the wait ended, or `stopped` when the release was aborted or rolled back meanwhile. */
  outcome: GateStatus['state'] | 'stopped';
  seconds: number;
}

/**
 * Metrics the release workflow hands to its worker. Sinks are fire-and-forget and not called on replay,
 * so an observation is made once per gate however often the workflow is replayed.
 */
export interface ReleaseSinks extends Sinks {
  releaseMetrics: {
    gateWaited(wait: GateWait): void;
  };
}

export const { releaseMetrics } = proxySinks<ReleaseSinks>();
