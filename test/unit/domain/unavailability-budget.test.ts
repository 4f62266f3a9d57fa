import { AppSpecSchema, DomainError, parseReleaseRequest, planRelease, type Revision } from '../../../domain/index.js';

/** strategy.maxUnavailable: parsed, then made a pod count over every cell of the App's placement. */
const app = AppSpecSchema.parse({
  name: 'pay',
  tenant: 'acme',
  workspace: 'prod',
  replicasPerCell: 2,
  template: { containers: [{ name: 'app', image: 'pay:1' }] },
  placement: { cells: ['a', 'b', 'c', 'd'] },
  overrides: { d: { replicas: 4 } },
});
const to: Revision = { number: 2, template: app.template, replicasPerCell: 2, overrides: app.overrides, createdAt: '', createdBy: 'x' };
const clusterOf = (cell: string) => (cell === 'a' || cell === 'b' ? 'kc1' : 'kc2');
const plan = (maxUnavailable: unknown, mask?: string[]) =>
  planRelease({
    app,
    namespace: 'acme-prod',
    from: undefined,
    to,
    request: parseReleaseRequest({ app: 'pay', tenant: 'acme', requestedBy: 'x', ...(mask ? { mask } : {}), strategy: { maxUnavailable } }),
    clusterOf,
  });
const refusal = (maxUnavailable: unknown) => {
  try {
    plan(maxUnavailable);
  } catch (err) {
    expect(err).toBeInstanceOf(DomainError);
    return (err as DomainError).issues[0];
  }
  throw new Error('expected a refusal');
};

test('a count, or a share of all the App’s pods (rounded down, at least 1), over every cluster of its placement', () => {
  // 2 + 2 + 2 + 4 = 10 pods: kc1 has 4, kc2 6
  expect(plan(2).budget).toEqual({
    maxUnavailable: 2,
    clusters: [
      { name: 'kc1', pods: 4 },
      { name: 'kc2', pods: 6 },
    ],
  });
  expect(plan('25%').budget?.maxUnavailable).toBe(2);
  expect(plan('1%').budget?.maxUnavailable).toBe(1);
  expect(plan('100%').budget?.maxUnavailable).toBe(10);
  // a mask narrows what the release changes, not the App whose pods the budget counts
  expect(plan(3, ['a']).budget).toEqual({
    maxUnavailable: 3,
    clusters: [
      { name: 'kc1', pods: 4 },
      { name: 'kc2', pods: 6 },
    ],
  });
  expect(plan(undefined).budget).toBeUndefined();
});

test.each([
  [0, /at least 1 pod/],
  [-1, /at least 1 pod/],
  [1.5, /whole number|pod count/],
  ['0%', /more than 0%/],
  ['101%', /between 0% and 100%/],
  ['two', /between 0% and 100%|pod count/],
  [11, /11 pods is more than all 10 pods of pay/],
])('maxUnavailable %j is refused naming the field', (value, message) => {
  expect(refusal(value)).toEqual({ field: 'strategy.maxUnavailable', message: expect.stringMatching(message) });
});
