import { DomainError, parseReleaseRequest, AppSpecSchema, imageRef } from '../../../domain/index.js';

const fieldOf = (input: unknown) => {
  try {
    parseReleaseRequest(input);
  } catch (err) {
    expect(err).toBeInstanceOf(DomainError);
    return (err as DomainError).issues[0]?.field;
  }
  throw new Error('expected refusal');
};

test.each([
  [{ tenant: 'acme', requestedBy: 'a' }, 'app'],
  [{ app: 'Pay', tenant: 'acme', requestedBy: 'a' }, 'app'],
  [{ app: 'pay', tenant: 'acme', requestedBy: 'a', revision: 0 }, 'revision'],
  [{ app: 'pay', tenant: 'acme', requestedBy: 'a', revision: 1.5 }, 'revision'],
  [{ app: 'pay', tenant: 'acme', requestedBy: 'a', mask: [] }, 'mask'],
  [{ app: 'pay', tenant: 'acme', requestedBy: 'a', strategy: { groups: 0 } }, 'strategy.groups'],
  [{ app: 'pay', tenant: 'acme', requestedBy: 'a', strategy: { groups: 2, groupSizes: [1] } }, 'strategy.groupSizes'],
  [{ app: 'pay', tenant: 'acme', requestedBy: 'a', strategy: { gate: { type: 'timed' } } }, 'strategy.gate.seconds'],
  [{ app: 'pay', tenant: 'acme', requestedBy: 'a', strategy: { gate: { type: 'sometimes' } } }, 'strategy.gate.type'],
  [{ app: 'pay', tenant: 'acme', requestedBy: 'a', strategy: { podTimeoutSeconds: -5 } }, 'strategy.podTimeoutSeconds'],
  [{ app: 'pay', tenant: 'acme', requestedBy: 'a', surprise: true }, '(root)'],
  [{ app: 'pay', tenant: 'acme', requestedBy: 'a', mode: 'panic' }, 'mode'],
  [{ app: 'pay', tenant: 'acme', requestedBy: 'a', mode: 1 }, 'mode'],
])('a malformed release request is refused naming the field: %j', (input, field) => {
  expect(fieldOf(input)).toBe(field);
});

test('defaults: manual gate, in-place, pause on failure', () => {
  expect(parseReleaseRequest({ app: 'pay', tenant: 'acme', requestedBy: 'a' }).strategy).toMatchObject({
    gate: { type: 'manual' },
    mode: 'in-place',
    onFailure: 'pause',
    beta: 'none',
  });
});

test.each(['registry.local/pay:1.0', 'pay', 'ghcr.io/org/team/pay:v1.2.3-rc1', `pay@sha256:${'a'.repeat(64)}`, 'localhost:5000/pay:1'])(
  'image %s is accepted',
  (ref) => {
    expect(imageRef.safeParse(ref).success).toBe(true);
  },
);

test.each(['', 'not an image', 'Registry/UPPER:1', 'pay:', 'pay@sha256:xyz'])('image %j is refused', (ref) => {
  expect(imageRef.safeParse(ref).success).toBe(false);
});

test('an App needs a placement and unique container names', () => {
  const base = {
    name: 'pay',
    tenant: 'acme',
    workspace: 'prod',
    replicasPerCell: 2,
    template: { containers: [{ name: 'app', image: 'pay:1' }] },
    placement: { cells: ['a'] },
  };
  expect(AppSpecSchema.safeParse(base).success).toBe(true);
  expect(AppSpecSchema.safeParse({ ...base, placement: { cells: ['a', 'a'] } }).success).toBe(false);
  expect(
    AppSpecSchema.safeParse({ ...base, template: { containers: [base.template.containers[0], base.template.containers[0]] } }).success,
  ).toBe(false);
});

test('mode: normal by default; disaster when asked; anything else names the allowed values', () => {
  expect(parseReleaseRequest({ app: 'pay', tenant: 'acme', requestedBy: 'a' }).mode).toBe('normal');
  expect(parseReleaseRequest({ app: 'pay', tenant: 'acme', requestedBy: 'a', mode: 'disaster' }).mode).toBe('disaster');
  expect(() => parseReleaseRequest({ app: 'pay', tenant: 'acme', requestedBy: 'a', mode: 'panic' })).toThrow(
    /mode: mode must be "normal" or "disaster"/,
  );
});
