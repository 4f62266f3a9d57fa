import { AppSpecSchema, globsOverlap, matchesPattern, metadataChanges, MetadataPolicySchema, sameContent } from '../../../domain/index.js';

/** The annotation and label policy: which keys are Barista's (spec), which never its to touch (status). */
test('patterns match keys with * as any run of characters', () => {
  expect(matchesPattern('example.com/owner', 'example.com/*')).toBe(true);
  expect(matchesPattern('sub.example.com/owner', '*.example.com/*')).toBe(true);
  expect(matchesPattern('example.com/owner', '*.example.com/*')).toBe(false);
  expect(matchesPattern('exampleXcom/owner', 'example.com/*')).toBe(false); // a dot is a dot
  expect(matchesPattern('owner', 'owner')).toBe(true);
});

test.each([
  ['example.com/*', 'example.com/status', true],
  ['example.com/*', '*/status', true],
  ['example.com/*', 'status.example.com/*', false],
  ['a*b', 'b*a', false],
  ['a*', '*b', true],
  ['*', 'anything', true],
  ['x/*-spec', 'x/*-status', false],
])('glob %s and %s overlap: %s', (a, b, overlap) => {
  expect(globsOverlap(a, b)).toBe(overlap);
  expect(globsOverlap(b, a)).toBe(overlap);
});

test('a policy whose status pattern overlaps a spec pattern is refused naming it', () => {
  const refused = MetadataPolicySchema.safeParse({ spec: ['example.com/*'], status: ['status.io/*', '*/probe'] });
  expect(refused.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
    ['status.1', 'status pattern "*/probe" overlaps spec pattern "example.com/*": a key must be either Barista\'s or not'],
  ]);
  expect(MetadataPolicySchema.safeParse({ spec: ['a b'] }).success).toBe(false);
  expect(MetadataPolicySchema.safeParse({ spec: ['x'], owner: ['y'] }).success).toBe(false);
});

test('changes: the App’s keys set, Barista’s stale keys removed, status keys and others left alone, reserved keys kept', () => {
  const policy = { spec: ['example.com/*', '*'], status: ['status.example.com/*'] };
  // '*' as spec would claim everything: status and reserved keys stay out of it
  expect(
    metadataChanges(
      {
        'example.com/owner': 'mallory',
        'example.com/stale': 'x',
        'status.example.com/probe': 'ok',
        'barista.dev/revision': '3',
        'controller-revision-hash': 'abc',
      },
      { 'example.com/owner': 'team-a', 'example.com/new': 'y' },
      { spec: ['example.com/*'], status: ['status.example.com/*'] },
    ),
  ).toEqual({ 'example.com/owner': 'team-a', 'example.com/new': 'y', 'example.com/stale': null });
  expect(
    metadataChanges({ 'other.io/note': 'keep', 'status.example.com/probe': 'ok', 'controller-revision-hash': 'a' }, {}, policy),
  ).toEqual({
    'other.io/note': null,
  });
  // without a policy only the App's own keys are written
  expect(metadataChanges({ 'example.com/stale': 'x' }, { 'example.com/owner': 'a' }, undefined)).toEqual({ 'example.com/owner': 'a' });
});

const app = {
  name: 'pay',
  tenant: 'acme',
  workspace: 'prod',
  replicasPerCell: 1,
  placement: { cells: ['rz00a'] },
};
const issues = (spec: unknown) => AppSpecSchema.safeParse(spec).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];

test('an App may not set status keys, nor Barista’s or Kubernetes’ own, nor bad labels', () => {
  expect(
    issues({
      ...app,
      template: {
        containers: [{ name: 'app', image: 'pay:1' }],
        annotations: { 'status.example.com/probe': 'ok' },
        labels: { tier: 'web' },
      },
      overrides: { rz00a: { annotations: { 'barista.dev/revision': '9' } } },
      metadataPolicy: { spec: ['example.com/*'], status: ['status.example.com/*'] },
    }),
  ).toEqual([
    'template.annotations.status.example.com/probe: "status.example.com/probe" matches status pattern "status.example.com/*" of metadataPolicy: Barista never writes status keys',
    'overrides.rz00a.annotations.barista.dev/revision: "barista.dev/revision" is kept by Barista or Kubernetes; an App cannot set it',
  ]);
  expect(
    issues({ ...app, template: { containers: [{ name: 'app', image: 'pay:1' }], labels: { 'controller-revision-hash': 'x' } } }),
  ).toHaveLength(1);
  expect(issues({ ...app, template: { containers: [{ name: 'app', image: 'pay:1' }], labels: { tier: 'not valid!' } } })).toEqual([
    'template.labels.tier: label value "not valid!": must be letters, digits, "-", "_" and ".", starting and ending with a letter or digit',
  ]);
});

test('a policy is part of a revision’s content; an empty one is no policy', () => {
  const base = { template: { containers: [{ name: 'app', image: 'pay:1' }] }, replicasPerCell: 1, overrides: {} };
  expect(sameContent(base, { ...base, metadataPolicy: { spec: [], status: [] } })).toBe(true);
  expect(sameContent(base, { ...base, metadataPolicy: { spec: ['example.com/*'], status: [] } })).toBe(false);
});
