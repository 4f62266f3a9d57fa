/** Failure types activities raise and the workflows react to (ApplicationFailure.type). */
export const FailureTypes = {
  podStepTimeout: 'PodStepTimeout',
  gateFailed: 'GateFailed',
  unknownCell: 'UnknownCell',
  unknownCluster: 'UnknownCluster',
  invalidInput: 'InvalidInput',
  forbidden: 'Forbidden',
} as const;
