/** Errors raised while provisioning or running the sandbox. Each names what failed and what to do. */
export type SandboxErrorCode =
  | 'PROVISION_FAILED'
  | 'PROVISION_TIMEOUT'
  | 'INVALID_TOPOLOGY'
  | 'PORT_IN_USE'
  | 'PROCESS_FAILED'
  | 'NOT_READY'
  | 'UNKNOWN_TARGET'
  | 'INVALID_INPUT';

export class SandboxError extends Error {
  constructor(
    readonly code: SandboxErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'SandboxError';
  }
}
