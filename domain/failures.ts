/** Failure types activities raise and the workflows react to (ApplicationFailure.type). */
export const FailureTypes = {
  podStepTimeout: 'PodStepTimeout',
  gateFailed: 'GateFailed',
  unknownCell: 'UnknownCell',
  unknownCluster: 'UnknownCluster',
  invalidInput: 'InvalidInput',
  forbidden: 'Forbidden',
  /** An activity for an agent-served cluster waited out its schedule-to-start budget (workflows/cluster-routing.ts). */
  agentNotPolling: 'AgentNotPolling',
} as const;
