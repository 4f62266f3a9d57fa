import type { FieldIssue } from './validation.js';
import { describeIssues } from './validation.js';

export type DomainErrorCode = 'INVALID_INPUT' | 'NOT_FOUND' | 'CONFLICT' | 'FORBIDDEN';

/** An error a caller can act on: which field, why, what is allowed. Carries an HTTP-friendly code. */
export class DomainError extends Error {
  constructor(
    readonly code: DomainErrorCode,
    message: string,
    readonly issues: FieldIssue[] = [],
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'DomainError';
  }

  static invalid(issues: FieldIssue[]): DomainError {
    return new DomainError('INVALID_INPUT', `invalid input: ${describeIssues(issues)}`, issues);
  }
}
