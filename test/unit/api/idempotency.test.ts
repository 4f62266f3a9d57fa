import { canonicalJson, IDEMPOTENCY_KEY_TTL_MS, matchKey, requestHash } from '../../../api/idempotency.js';
import { placementIssues } from '../../../api/app-placement.js';
import { parseReleaseRequest } from '../../../domain/index.js';

const request = (extra: Record<string, unknown> = {}) => parseReleaseRequest({ app: 'pay', tenant: 'acme', requestedBy: 'rita', ...extra });

test('the request hash ignores key order and spelled-out defaults, and sees every difference', () => {
  expect(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: undefined } })).toBe('{"a":{"d":[1,{"x":1,"y":2}]},"b":1}');
  const plain = requestHash(request());
  expect(requestHash(request({ strategy: { gate: { type: 'manual' }, mode: 'in-place' } }))).toBe(plain);
  expect(requestHash(request({ strategy: { groups: 2 } }))).not.toBe(plain);
  expect(requestHash(request({ queue: true }))).not.toBe(plain);
  expect(requestHash(parseReleaseRequest({ app: 'pay', tenant: 'acme', requestedBy: 'mallory' }))).not.toBe(plain);
});

test('a run matches a key with its request within the key lifetime', () => {
  const now = new Date('2026-12-01T12:00:00Z');
  const run = (memo: Record<string, unknown>, ageMs = 1000) => ({ memo, startTime: new Date(now.getTime() - ageMs) });
  expect(matchKey(run({ idempotencyKey: 'k', requestHash: 'h' }), 'k', 'h', now)).toBe('same');
  expect(matchKey(run({ idempotencyKey: 'k', requestHash: 'other' }), 'k', 'h', now)).toBe('other-request');
  // started before hashes were kept: cannot be shown to be the same request
  expect(matchKey(run({ idempotencyKey: 'k' }), 'k', 'h', now)).toBe('other-request');
  expect(matchKey(run({ idempotencyKey: 'other', requestHash: 'h' }), 'k', 'h', now)).toBe('unrelated');
  expect(matchKey(run({ requestedBy: 'x' }), 'k', 'h', now)).toBe('unrelated');
  expect(matchKey({ startTime: now }, 'k', 'h', now)).toBe('unrelated');
  // expired: the key is free again
  expect(matchKey(run({ idempotencyKey: 'k', requestHash: 'other' }, IDEMPOTENCY_KEY_TTL_MS + 1), 'k', 'h', now)).toBe('unrelated');
});

test('unknown and foreign cells are named by their place in the placement, without the other tenant', () => {
  const issues = placementIssues({ tenant: 'acme', placement: { cells: ['rz00a', 'rz99z', 'rz02a'] } }, [
    { cell: 'rz00a', outcome: 'found', cluster: 'kc1' },
    { cell: 'rz99z', outcome: 'unknown' },
    { cell: 'rz02a', outcome: 'foreign' },
  ]);
  expect(issues).toEqual([
    { field: 'placement.cells[1]', message: 'cell rz99z does not exist in any cluster' },
    { field: 'placement.cells[2]', message: 'cell rz02a belongs to another tenant than acme' },
  ]);
});
