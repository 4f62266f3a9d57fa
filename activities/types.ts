/** Inputs and results of the activities, as plain types the workflows may import (types only). */
import type { Revision } from '../domain/index.js';

export { FailureTypes } from '../domain/failures.js';

export interface WorkloadRef {
  cluster: string;
  namespace: string;
  app: string;
  tenant: string;
  workspace: string;
  cell: string;
}

export interface EnsureWorkloadInput extends WorkloadRef {
  revision: Revision;
  /** Replicas to run now (default: the revision's): a first release grows its workload group by group. */
  replicas?: number;
  /** Leave the workload's replicas as they are (drift repair: another field manager, an HPA, owns them). */
  keepReplicas?: boolean;
}

export interface EnsureWorkloadResult {
  created: boolean;
  updated: boolean;
  /** The StatefulSet controller's update revision (ControllerRevision name) for the template. */
  updateRevision?: string;
}

export interface EnsurePodReleasedInput extends WorkloadRef {
  pod: string;
  /** Traffic components that route to the pod: the drain waits for each to let go, the mount for each to hold it. */
  traffic: { name: string; deregistrationTimeoutSeconds: number }[];
  revision: Revision;
  mode: 'in-place' | 'recreate';
  podTimeoutSeconds: number;
  /** The App's unavailability budget: before taking the pod down, wait until it has room. */
  budget?: { maxUnavailable: number; clusters: { name: string; pods: number }[] };
}

export interface EnsurePodReleasedResult {
  pod: string;
  /** False when the pod was already at the revision and serving: nothing was written. */
  changed: boolean;
  uid: string;
  ip: string;
  restartCount: number;
}

export interface AwaitGroupStableInput {
  app: string;
  namespace: string;
  pods: { cluster: string; name: string }[];
  windowSeconds: number;
  timeoutSeconds: number;
}

export interface ResolveCellsInput {
  tenant: string;
  workspace: string;
  cells: string[];
  /**
   * Agent-served clusters that may hold cells this worker cannot see (issue #16): a cell not found is then left
   * out of the answer, for their agents to be asked, instead of refused as unknown.
   */
  elsewhere?: string[];
}

/** Details carried by a PodStepTimeout failure. */
export interface PodStepFailure {
  pod: string;
  step: string;
  reason: string;
}
