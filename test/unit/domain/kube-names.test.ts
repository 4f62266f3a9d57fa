import {
  ANNOTATIONS_MAX_BYTES,
  annotationsSchema,
  envSchema,
  isEnvName,
  labelValue,
  namespaceProblem,
  qualifiedNameProblem,
} from '../../../domain/index.js';

test.each([
  'team',
  'barista.dev/owner',
  'prometheus.io/scrape',
  'a',
  'A_b-c.d',
  `example.com/${'x'.repeat(63)}`,
  `${'a'.repeat(63)}.${'b'.repeat(63)}/name`,
])('annotation key %j is a qualified name', (key) => {
  expect(qualifiedNameProblem(key)).toBeUndefined();
});

test.each([
  ['', /name must not be empty/],
  ['has space', /letters, digits/],
  ['-leading', /starting and ending/],
  ['trailing.', /starting and ending/],
  ['a/b/c', /at most one "\/"/],
  ['/name', /prefix before "\/" must not be empty/],
  ['Example.com/name', /prefix must be a DNS subdomain/],
  ['example.com/', /name must not be empty/],
  [`${'x'.repeat(64)}`, /at most 63/],
  [`${'a'.repeat(254)}/name`, /at most 253/],
  ['ünïcode', /letters, digits/],
])('annotation key %j is refused: %s', (key, reason) => {
  expect(qualifiedNameProblem(key)).toMatch(reason);
});

test.each(['', 'v1', 'A.b_c-9', 'x'.repeat(63)])('label value %j is accepted', (value) => {
  expect(labelValue.safeParse(value).success).toBe(true);
});

test.each(['-x', 'x-', 'a b', 'x'.repeat(64), 'a/b'])('label value %j is refused', (value) => {
  expect(labelValue.safeParse(value).success).toBe(false);
});

test.each([
  ['PATH', true],
  ['_private', true],
  ['A1_B2', true],
  ['1BAD', false],
  ['WITH-DASH', false],
  ['with.dot', false],
  ['', false],
  ['SPACE X', false],
])('env name %j is a C identifier: %s', (name, ok) => {
  expect(isEnvName(name)).toBe(ok);
});

test('an invalid env name or annotation key is refused naming the key', () => {
  const env = envSchema.safeParse({ GOOD: '1', 'BAD-NAME': '2' });
  expect(env.success).toBe(false);
  expect(env.error?.issues.map((i) => i.path)).toEqual([['BAD-NAME']]);
  const annotations = annotationsSchema.safeParse({ 'ok/key': 'v', 'bad key': 'v' });
  expect(annotations.error?.issues.map((i) => i.path)).toEqual([['bad key']]);
  expect(annotations.error?.issues[0]?.message).toMatch(/annotation key "bad key"/);
});

test('annotations are refused past the API server total size', () => {
  expect(annotationsSchema.safeParse({ big: 'x'.repeat(ANNOTATIONS_MAX_BYTES - 3) }).success).toBe(true);
  const tooBig = annotationsSchema.safeParse({ big: 'x'.repeat(ANNOTATIONS_MAX_BYTES) });
  expect(tooBig.error?.issues[0]?.message).toMatch(/bytes in all/);
});

test.each([
  ['acme-prod', undefined],
  ['default', undefined],
  ['kube-system', /belong to Kubernetes/],
  ['kube-public', /belong to Kubernetes/],
  ['Upper', /lowercase/],
  ['x'.repeat(64), /at most 63/],
])('namespace %j: %s', (name, problem) => {
  if (problem) expect(namespaceProblem(name)).toMatch(problem);
  else expect(namespaceProblem(name)).toBeUndefined();
});
