import { ApiException } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import { FailureTypes } from '../domain/failures.js';

export function isStatus(err: unknown, code: number): boolean {
  return err instanceof ApiException && err.code === code;
}

/**
 * Classifies an API error: 400/422 (invalid) and 403 (forbidden) fail fast as non-retryable with the
 * server's message; everything else (network, 5xx, 429, 409) is rethrown for Temporal to retry.
 */
export function rethrowKubeError(err: unknown, what: string): never {
  if (err instanceof ApiException) {
    const message = `${what}: HTTP ${err.code}: ${serverMessage(err)}`;
    if (err.code === 400 || err.code === 422) throw ApplicationFailure.nonRetryable(message, FailureTypes.invalidInput);
    if (err.code === 403 || err.code === 401) throw ApplicationFailure.nonRetryable(message, FailureTypes.forbidden);
    throw new Error(message);
  }
  throw err;
}

function serverMessage(err: ApiException<unknown>): string {
  const body = err.body;
  if (typeof body === 'string') {
    try {
      return (JSON.parse(body) as { message?: string }).message ?? body;
    } catch {
      return body;
    }
  }
  return (body as { message?: string } | undefined)?.message ?? err.message;
}
