export type AgentErrorCode =
  /** The cluster the agent was started for is not in the topology. */
  | 'UNKNOWN_CLUSTER'
  /** The topology says the cluster is reached directly: no release would send the agent anything. */
  | 'NOT_AGENT_SERVED'
  /** The kubeconfig is missing, unreadable, or holds more than the one cluster's credentials. */
  | 'INVALID_KUBECONFIG'
  /** The kubeconfig's API server is not the cluster the agent was started for. */
  | 'WRONG_CLUSTER'
  /** Missing or malformed settings (cluster name, topology file, Temporal address). */
  | 'INVALID_CONFIG';

/** Why a cluster agent refuses to start: a message an operator can act on, and a code tests and scripts match. */
export class AgentError extends Error {
  override readonly name = 'AgentError';
  constructor(
    readonly code: AgentErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}
