import {
  decideRepairs,
  DEFAULT_DRIFT_SETTINGS,
  driftKey,
  DriftSettingsSchema,
  fieldOwners,
  ignored,
  nextMemory,
  podDrift,
  workloadDrift,
  type PodExpectations,
  type PodShape,
  type RepairUnit,
  type WorkloadShape,
} from '../../../domain/index.js';

const desired: WorkloadShape = {
  replicas: 3,
  containers: [{ name: 'app', image: 'shop:2', env: [{ name: 'MODE', value: 'live' }] }],
  annotations: { 'example.com/owner': 'team-a' },
  labels: { 'barista.dev/revision': '2', tier: 'web' },
};
const opts = {
  settings: DEFAULT_DRIFT_SETTINGS,
  manager: 'barista',
  policy: { spec: ['example.com/*'], status: ['status.example.com/*'] },
};

/** managedFields as the API server writes them: `manager` owns the fields of `fields` (fieldsV1). */
function owned(manager: string, fields: object) {
  return { manager, fieldsV1: fields };
}

describe('fieldOwners', () => {
  test('turns fieldsV1 into the paths findings use: keys of lists by merge key, keys of annotations and labels in brackets', () => {
    const owners = fieldOwners([
      owned('barista', {
        'f:spec': {
          'f:replicas': {},
          'f:template': {
            'f:metadata': { 'f:annotations': { 'f:example.com/owner': {} } },
            'f:spec': {
              'f:containers': { 'k:{"name":"app"}': { '.': {}, 'f:image': {}, 'f:env': { 'k:{"name":"MODE"}': { 'f:value': {} } } } },
            },
          },
        },
      }),
      owned('hpa', { 'f:spec': { 'f:replicas': {} } }),
    ]);
    expect(owners.get('spec.replicas')).toEqual(['barista', 'hpa']);
    expect(owners.get('spec.template.metadata.annotations[example.com/owner]')).toEqual(['barista']);
    expect(owners.get('spec.template.spec.containers[name=app].image')).toEqual(['barista']);
    expect(owners.get('spec.template.spec.containers[name=app].env[name=MODE].value')).toEqual(['barista']);
  });
});

describe('workloadDrift', () => {
  test('no difference, no drift', () => {
    expect(workloadDrift(desired, structuredClone(desired), [], opts)).toEqual([]);
  });

  test('each declared field that differs is one finding; undeclared containers and keys (a sidecar, a status key) are not drift', () => {
    const actual: WorkloadShape = {
      replicas: 3,
      containers: [
        {
          name: 'app',
          image: 'evil:1',
          env: [
            { name: 'MODE', value: 'debug' },
            { name: 'EXTRA', value: '1' },
          ],
        },
        { name: 'istio-proxy', image: 'proxy:1' },
      ],
      annotations: { 'status.example.com/seen': 'x', 'example.com/stale': 'y' },
      labels: { 'barista.dev/revision': '2', tier: 'web', 'someone.else/label': 'z' },
    };
    expect(workloadDrift(desired, actual, [], opts)).toEqual([
      { field: 'spec.template.spec.containers[name=app].image', expected: 'shop:2', actual: 'evil:1' },
      { field: 'spec.template.spec.containers[name=app].env[name=MODE].value', expected: 'live', actual: 'debug' },
      { field: 'spec.template.spec.containers[name=app].env[name=EXTRA].value', actual: '1' },
      { field: 'spec.template.metadata.annotations[example.com/owner]', expected: 'team-a' },
      { field: 'spec.template.metadata.annotations[example.com/stale]', actual: 'y' },
    ]);
  });

  test('replicas another manager owns (an HPA) are not drift; replicas changed by hand (kubectl) are', () => {
    const actual = { ...desired, replicas: 7 };
    expect(workloadDrift(desired, actual, [owned('horizontal-pod-autoscaler', { 'f:spec': { 'f:replicas': {} } })], opts)).toEqual([]);
    expect(workloadDrift(desired, actual, [owned('kubectl-scale', { 'f:spec': { 'f:replicas': {} } })], opts)).toEqual([
      { field: 'spec.replicas', expected: '3', actual: '7' },
    ]);
    // still Barista's (an update by Barista, or nobody took it over): drift
    expect(workloadDrift(desired, actual, [owned('barista', { 'f:spec': { 'f:replicas': {} } })], opts)).toHaveLength(1);
  });

  test("the App's ignore list covers a field and what is under it", () => {
    const actual = { ...desired, replicas: 1, containers: [{ name: 'app', image: 'x', env: [{ name: 'MODE', value: 'live' }] }] };
    const settings = { ...DEFAULT_DRIFT_SETTINGS, ignore: ['spec.replicas', 'spec.template.spec.containers[name=app]'] };
    expect(workloadDrift(desired, actual, [], { ...opts, settings })).toEqual([]);
    expect(ignored('spec.template.metadata.annotations[example.com/a]', ['spec.template.metadata.annotations[example.com/*]'])).toBe(true);
    expect(ignored('spec.replicasX', ['spec.replicas'])).toBe(false);
  });
});

describe('podDrift', () => {
  const now = Date.parse('2026-11-27T12:00:00Z');
  const want: PodExpectations = {
    revision: 2,
    containers: [{ name: 'app', image: 'shop:2' }],
    annotations: { 'example.com/owner': 'team-a' },
    labels: {},
    policy: { spec: ['example.com/*'], status: [] },
    traffic: [{ finalizer: 'traffic.barista.dev/service', timeoutSeconds: 30 }],
    gateCondition: 'barista.dev/traffic-ready',
    drainingReason: 'DrainingForRelease',
    graceSeconds: 60,
    now,
  };
  const serving: PodShape = {
    name: 'shop-rz01a-0',
    revisionLabel: '2',
    containers: [{ name: 'app', image: 'shop:2' }],
    annotations: { 'example.com/owner': 'team-a' },
    labels: {},
    finalizers: ['traffic.barista.dev/service'],
    gate: { status: 'True', reason: 'ReleasedByBarista' },
    readySince: '2026-11-27T11:00:00Z',
  };

  test('a serving pod at its revision is not drift', () => {
    expect(podDrift(serving, want, [])).toBeUndefined();
  });

  test('another image (kubectl set image) goes through the per-pod protocol', () => {
    expect(podDrift({ ...serving, containers: [{ name: 'app', image: 'evil:1' }] }, want, [])).toEqual({
      pod: 'shop-rz01a-0',
      repair: 'release',
      fields: [{ field: 'spec.containers[name=app].image', expected: 'shop:2', actual: 'evil:1' }],
    });
  });

  test('left drained by an abandoned release, or ready for long with its gate closed, or without its traffic finalizer', () => {
    const drained = podDrift({ ...serving, gate: { status: 'False', reason: 'DrainingForRelease' } }, want, []);
    expect(drained).toMatchObject({
      repair: 'release',
      fields: [{ field: 'status.conditions[barista.dev/traffic-ready]', expected: 'True' }],
    });
    expect(podDrift({ ...serving, gate: undefined }, want, [])?.fields).toEqual([
      { field: 'status.conditions[barista.dev/traffic-ready]', expected: 'True', actual: 'missing' },
    ]);
    // just ready: the gate keeper has a minute to open it
    expect(podDrift({ ...serving, gate: undefined, readySince: '2026-11-27T11:59:30Z' }, want, [])).toBeUndefined();
    expect(podDrift({ ...serving, finalizers: [] }, want, [])?.fields).toEqual([
      { field: 'metadata.finalizers[traffic.barista.dev/service]', expected: 'present on a serving pod' },
    ]);
    // just restarted (ready again seconds ago): its components are still coming back
    expect(podDrift({ ...serving, finalizers: [], readySince: '2026-11-27T11:59:50Z' }, want, [])).toBeUndefined();
  });

  test('a spec annotation edited is put back by a metadata write; a status key is not drift', () => {
    const edited = { ...serving, annotations: { 'example.com/owner': 'mallory', 'status.example.com/x': '1' } };
    expect(podDrift(edited, { ...want, policy: { spec: ['example.com/*'], status: ['status.example.com/*'] } }, [])).toEqual({
      pod: 'shop-rz01a-0',
      repair: 'metadata',
      fields: [{ field: 'metadata.annotations[example.com/owner]', expected: 'team-a', actual: 'mallory' }],
    });
  });

  test('a terminating pod whose finalizers outlive every component timeout is unblocked; before that it is left alone', () => {
    const terminating = { ...serving, terminatingSince: '2026-11-27T11:58:00Z' };
    expect(podDrift(terminating, want, [])).toMatchObject({ repair: 'unblock' });
    expect(podDrift({ ...terminating, terminatingSince: '2026-11-27T11:59:00Z' }, want, [])).toBeUndefined();
    expect(podDrift({ ...terminating, finalizers: [] }, want, [])).toBeUndefined();
  });
});

describe('decideRepairs and nextMemory', () => {
  const pod = (i: number): RepairUnit => ({
    cell: 'rz01a',
    object: `pod/p-${i}`,
    fields: [{ field: 'spec.containers[name=app].image' }],
    pod: true,
  });
  const workload: RepairUnit = { cell: 'rz01a', object: 'statefulset/s', fields: [{ field: 'spec.replicas' }], pod: false };
  const settings = { mode: 'repair' as const, maxPodsPerRun: 2, quarantineAfter: 3 };

  test('workloads are repaired whatever the cap; pods up to the cap, the rest deferred', () => {
    const d = decideRepairs([pod(0), workload, pod(1), pod(2)], {}, { dryRun: false, settings });
    expect(d.map((x) => (x.action === 'repair' ? 'repair' : x.outcome))).toEqual(['repair', 'repair', 'repair', 'deferred']);
  });

  test('a field repaired quarantineAfter runs in a row is quarantined; a dry run and report mode repair nothing', () => {
    const memory = { [driftKey('rz01a', 'pod/p-0', 'spec.containers[name=app].image')]: 3 };
    const d = decideRepairs([pod(0), pod(1)], memory, { dryRun: false, settings });
    expect(d[0]).toMatchObject({ action: 'report', outcome: 'quarantined' });
    expect(d[1]).toMatchObject({ action: 'repair' });
    expect(decideRepairs([pod(1)], {}, { dryRun: true, settings })[0]).toMatchObject({ outcome: 'found', reason: 'dry run' });
    expect(decideRepairs([pod(1)], {}, { dryRun: false, settings: { ...settings, mode: 'report' } })[0]).toMatchObject({
      outcome: 'found',
    });
  });

  test('repaired fields count one more, unrepaired ones keep their count, fields no longer drifted are forgotten', () => {
    expect(
      nextMemory({ a: 2, b: 1, c: 5 }, [
        { key: 'a', repaired: true },
        { key: 'c', repaired: false },
        { key: 'd', repaired: true },
      ]),
    ).toEqual({
      a: 3,
      c: 5,
      d: 1,
    });
    expect(
      nextMemory({ a: 1 }, [
        { key: 'a', repaired: false },
        { key: 'b', repaired: false },
      ]),
    ).toEqual({ a: 1 });
  });

  test('settings: defaults, and refusals naming the field', () => {
    expect(DriftSettingsSchema.parse({})).toEqual({
      mode: 'repair',
      ignore: [],
      handEditManagers: ['kubectl', 'kubectl-*'],
      maxPodsPerRun: 5,
      quarantineAfter: 3,
    });
    const bad = DriftSettingsSchema.safeParse({ mode: 'fix', maxPodsPerRun: 0 });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues.map((i) => i.path.join('.'))).toEqual(['mode', 'maxPodsPerRun']);
  });
});
