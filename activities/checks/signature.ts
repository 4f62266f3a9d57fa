import { createHmac, timingSafeEqual } from 'node:crypto';

/** Headers of every signed request Barista sends (verification webhooks; notifications use the same). */
export const SIGNATURE_HEADER = 'x-barista-signature';
export const TIMESTAMP_HEADER = 'x-barista-timestamp';

/**
 * `sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">` with the shared secret: the receiver recomputes it and
 * refuses a stale timestamp, so a captured request can be neither altered nor replayed later.
 */
export function signBody(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** What a receiver does: true when the signature matches and the timestamp is within `toleranceSeconds` of now. */
export function verifySignature(
  secret: string,
  headers: { timestamp: string | undefined; signature: string | undefined },
  body: string,
  toleranceSeconds = 300,
  now = Date.now(),
): boolean {
  const timestamp = Number(headers.timestamp);
  if (!Number.isInteger(timestamp) || Math.abs(now / 1000 - timestamp) > toleranceSeconds || !headers.signature) return false;
  const expected = Buffer.from(signBody(secret, timestamp, body));
  const given = Buffer.from(headers.signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/** Signature headers for a body, or none when no secret is configured. */
export function signatureHeaders(secret: string | undefined, body: string, now = Date.now()): Record<string, string> {
  if (!secret) return {};
  const timestamp = Math.floor(now / 1000);
  return { [TIMESTAMP_HEADER]: String(timestamp), [SIGNATURE_HEADER]: signBody(secret, timestamp, body) };
}
