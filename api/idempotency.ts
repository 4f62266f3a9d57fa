import { createHash } from 'node:crypto';
import type { ReleaseRequest } from '../domain/index.js';

/**
 * Idempotency keys of release starts, as payment APIs have them: a key names one request. The same key with
 * the same request gives the same release; with another request it is refused (422); a key is remembered
 * for IDEMPOTENCY_KEY_TTL_MS after the release it started was started, then it is free again.
 *
 * Nothing is stored besides the release itself: its memo carries the key and a hash of the request.
 */
export const IDEMPOTENCY_KEY_TTL_MS = 24 * 60 * 60 * 1000;

/** What a release's memo says about how it was started. */
export type StartMemo = {
  requestedBy: string;
  idempotencyKey?: string;
  /** sha256 of the normalised request (requestHash). */
  requestHash?: string;
  /** Unique per start call: tells the caller that created the run from one that found it already running. */
  startNonce?: string;
};

/**
 * sha256 of the request as parsed (defaults filled in, keys sorted), so that `{}` and the same body with its
 * defaults spelled out hash alike. The caller's identity is part of it: another identity reusing a key is a
 * different request.
 */
export function requestHash(request: ReleaseRequest): string {
  // a field added with a default hashes as before while it has that default: a key keeps matching its request
  const { mode, ...rest } = request;
  return createHash('sha256')
    .update(canonicalJson(mode === 'normal' ? rest : request))
    .digest('hex');
}

/** JSON with object keys sorted at every level and undefined members left out. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v ?? null)).join(',')}]`;
  if (value && typeof value === 'object')
    return `{${Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`)
      .join(',')}}`;
  return JSON.stringify(value);
}

/**
 * How an existing release relates to a start with `key` and `hash`: `same` (that key, that request, within the
 * key's lifetime), `other-request` (that key, another request: refused), or `unrelated` (another key, no key,
 * or the key expired).
 */
export function matchKey(
  run: { memo?: Record<string, unknown>; startTime: Date },
  key: string,
  hash: string,
  now: Date,
): 'same' | 'other-request' | 'unrelated' {
  const memo = (run.memo ?? {}) as Partial<StartMemo>;
  if (memo.idempotencyKey !== key) return 'unrelated';
  if (now.getTime() - run.startTime.getTime() > IDEMPOTENCY_KEY_TTL_MS) return 'unrelated';
  // a release started before hashes were kept cannot be compared: refused rather than guessed the same
  return memo.requestHash === hash ? 'same' : 'other-request';
}
