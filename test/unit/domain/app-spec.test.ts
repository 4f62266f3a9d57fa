import { AppSpecFields, AppSpecSchema, type AppSpecInput } from '../../../domain/index.js';

const base: AppSpecInput = {
  name: 'pay',
  tenant: 'acme',
  workspace: 'prod',
  replicasPerCell: 2,
  template: { containers: [{ name: 'app', image: 'pay:1' }] },
  placement: { cells: ['rz00a', 'rz00b'] },
};

/** Fields of every issue, or [] when the spec is accepted. */
const refused = (spec: unknown) => AppSpecSchema.safeParse(spec).error?.issues.map((i) => i.path.join('.')) ?? [];

test('a plain App, and one with valid keys everywhere, are accepted', () => {
  expect(refused(base)).toEqual([]);
  expect(
    refused({
      ...base,
      namespace: 'payments',
      template: {
        containers: [{ name: 'app', image: 'pay:1', env: { LOG_LEVEL: 'info' } }],
        annotations: { 'prometheus.io/scrape': 'true' },
      },
      overrides: { rz00b: { replicas: 3, env: { _ZONE: 'b' }, annotations: { 'example.com/zone': 'b' } } },
    }),
  ).toEqual([]);
});

test.each([
  [
    'annotation key with a space',
    { template: { containers: [{ name: 'app', image: 'pay:1' }], annotations: { 'not valid': 'x' } } },
    'template.annotations.not valid',
  ],
  [
    'env name with a dash',
    { template: { containers: [{ name: 'app', image: 'pay:1', env: { 'LOG-LEVEL': 'x' } }] } },
    'template.containers.0.env.LOG-LEVEL',
  ],
  ['override env name starting with a digit', { overrides: { rz00a: { env: { '1X': 'y' } } } }, 'overrides.rz00a.env.1X'],
  [
    'override annotation key with two slashes',
    { overrides: { rz00a: { annotations: { 'a/b/c': 'y' } } } },
    'overrides.rz00a.annotations.a/b/c',
  ],
  ['override for a cell outside the placement', { overrides: { rz01a: { replicas: 1 } } }, 'overrides.rz01a'],
  ['kube-system namespace', { namespace: 'kube-system' }, 'namespace'],
  ['default namespace kube-*', { tenant: 'kube', workspace: 'prod' }, 'namespace'],
  ['default namespace over 63 characters', { tenant: 't'.repeat(40), workspace: 'w'.repeat(30) }, 'namespace'],
])('%s is refused naming the field', (_name, change, field) => {
  expect(refused({ ...base, ...change })).toEqual([field]);
});

test('the default namespace over 63 characters says how to fix it', () => {
  const result = AppSpecSchema.safeParse({ ...base, tenant: 't'.repeat(40), workspace: 'w'.repeat(30) });
  expect(result.error?.issues[0]?.message).toMatch(/default namespace "t+-w+" .* at most 63 .*set a namespace/);
});

test('the fields alone (the PUT body) can be picked from, and leave the cross-field rules to the full schema', () => {
  const body = AppSpecFields.omit({ name: true, tenant: true });
  const fields = Object.fromEntries(Object.entries(base).filter(([key]) => key !== 'name' && key !== 'tenant'));
  expect(body.safeParse({ ...fields, overrides: { rz09z: {} } }).success).toBe(true);
  expect(refused({ ...base, overrides: { rz09z: {} } })).toEqual(['overrides.rz09z']);
});
