import { CliError } from '../../../cli/api-client.js';
import { annotateIssues, flagOfField, parseReleaseFile, releaseBody } from '../../../cli/release-flags.js';
import { ReleaseRequestSchema } from '../../../domain/release.js';

const refused = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CliError);
    return (err as Error).message;
  }
  throw new Error('not refused');
};
/** The body as the API reads it (app, tenant and requestedBy come from the path and the token). */
const asRequest = (body: Record<string, unknown>) =>
  ReleaseRequestSchema.parse({ ...body, app: 'shop', tenant: 'acme', requestedBy: 'rita' });

describe('release flags → request body', () => {
  test('every strategy field has its flag, and the API takes what they make', () => {
    const body = releaseBody({
      revision: '5',
      groupSizes: '1,25%,50%',
      beta: 'per-cell',
      maxConcurrent: '3',
      podTimeout: '2m',
      onFailure: 'rollback',
      maxUnavailable: '10%',
      gate: 'auto',
      gateTimeout: '1h',
      gateWindow: '45s',
      mode: 'recreate',
      mask: 'rz00a,rz00b',
      maskClusters: 'kc1',
      reason: 'CVE fix',
      queue: true,
      disaster: true,
    });
    expect(body).toEqual({
      revision: 5,
      reason: 'CVE fix',
      queue: true,
      mode: 'disaster',
      mask: { cells: ['rz00a', 'rz00b'], clusters: ['kc1'] },
      strategy: {
        groupSizes: [1, '25%', '50%'],
        beta: 'per-cell',
        maxConcurrentPods: 3,
        podTimeoutSeconds: 120,
        onFailure: 'rollback',
        maxUnavailable: '10%',
        mode: 'recreate',
        gate: { type: 'auto', timeoutSeconds: 3600, windowSeconds: 45 },
      },
    });
    expect(asRequest(body).strategy).toMatchObject({ groupSizes: [1, '25%', '50%'], podTimeoutSeconds: 120 });
  });

  test('durations: seconds, or with units', () => {
    for (const [given, seconds] of [
      ['300', 300],
      ['90s', 90],
      ['5m', 300],
      ['1h', 3600],
      ['1m30s', 90],
      ['0.5', 0.5],
    ] as const)
      expect(releaseBody({ podTimeout: given }).strategy).toEqual({ podTimeoutSeconds: seconds });
  });

  test('the gate flags: manual with a timeout, timed with its pause; --gate-seconds is an auto gate window as before', () => {
    expect(releaseBody({ gate: 'manual', gateTimeout: '600' }).strategy).toEqual({ gate: { type: 'manual', timeoutSeconds: 600 } });
    expect(releaseBody({ gate: 'timed', gateSeconds: '30s' }).strategy).toEqual({ gate: { type: 'timed', seconds: 30 } });
    expect(releaseBody({ gate: 'auto', gateSeconds: '20' }).strategy).toEqual({ gate: { type: 'auto', windowSeconds: 20 } });
    // no --gate: the default manual gate takes the timeout
    expect(releaseBody({ gateTimeout: '10m' }).strategy).toEqual({ gate: { type: 'manual', timeoutSeconds: 600 } });
    expect(releaseBody({}).strategy).toBeUndefined();
  });

  test("a flag of the right form goes as it is: its limits are the API schema's (its 400 names the flag)", () => {
    expect(releaseBody({ groups: '0', podTimeout: '0s', maxConcurrent: '5000' }).strategy).toEqual({
      groups: 0,
      podTimeoutSeconds: 0,
      maxConcurrentPods: 5000,
    });
  });

  test('a bad flag is refused naming the flag, its value and what it accepts', () => {
    expect(refused(() => releaseBody({ groups: 'three' }))).toBe('--groups "three": must be a whole number');
    expect(refused(() => releaseBody({ groupSizes: '1,x,50%' }))).toBe(
      '--group-sizes "1,x,50%": must be a pod count (3) or a percentage (25%)',
    );
    expect(refused(() => releaseBody({ groupSizes: '1,,2' }))).toMatch(/^--group-sizes "1,,2": must be a comma-separated list/);
    expect(refused(() => releaseBody({ beta: 'all' }))).toBe('--beta "all": must be per-cell, single or none');
    expect(refused(() => releaseBody({ maxConcurrent: '-1' }))).toBe('--max-concurrent "-1": must be a whole number');
    expect(refused(() => releaseBody({ podTimeout: '5 minutes' }))).toMatch(/^--pod-timeout "5 minutes": must be a duration/);
    expect(refused(() => releaseBody({ onFailure: 'retry' }))).toBe('--on-failure "retry": must be pause or rollback');
    expect(refused(() => releaseBody({ maxUnavailable: 'half' }))).toMatch(/^--max-unavailable "half": must be a pod count/);
    expect(refused(() => releaseBody({ gate: 'approval' }))).toBe('--gate "approval": must be manual, auto or timed');
    expect(refused(() => releaseBody({ mode: 'disaster' }))).toMatch(
      /^--mode "disaster": must be in-place or recreate \(disaster mode is --disaster\)/,
    );
    expect(refused(() => releaseBody({ revision: '1.5' }))).toBe('--revision "1.5": must be a whole number');
    expect(refused(() => releaseBody({ groups: '2', groupSizes: '1,50%' }))).toBe('--groups and --group-sizes: give one of them, not both');
  });

  test('a gate flag that does not fit the gate is refused naming it and the gate', () => {
    expect(refused(() => releaseBody({ gate: 'manual', gateWindow: '30' }))).toBe(
      '--gate-window: only an auto gate has a verification window (the gate is manual)',
    );
    expect(refused(() => releaseBody({ gateSeconds: '30' }))).toMatch(
      /^--gate-seconds: only a timed gate .* \(the gate is manual by default\)/,
    );
    expect(refused(() => releaseBody({ gate: 'timed', gateTimeout: '30' }))).toMatch(/^--gate-timeout: a timed gate has no timeout/);
    expect(refused(() => releaseBody({ gate: 'timed' }))).toMatch(/give --gate-seconds/);
    expect(refused(() => releaseBody({ gate: 'auto', gateWindow: '30', gateSeconds: '40' }))).toMatch(/^--gate-window and --gate-seconds/);
  });
});

describe('-f release.yaml', () => {
  const yaml = `
revision: 4
reason: from the file
strategy:
  groupSizes: [1, "50%"]
  podTimeoutSeconds: 120
  gate:
    type: auto
    windowSeconds: 60
    checks:
      - { name: errors, type: prometheus, query: 'sum(rate(errors[1m]))', successCondition: 'result < 1' }
`;
  const file = parseReleaseFile('release.yaml', yaml, { tenant: 'acme', app: 'shop' });

  test('the file is the body, checks and all; flags override it field by field', () => {
    expect(releaseBody({ file: 'release.yaml' }, file)).toEqual(file);
    const body = releaseBody({ file: 'release.yaml', groups: '3', podTimeout: '60', gateTimeout: '5m', reason: 'flag' }, file);
    expect(body).toEqual({
      revision: 4,
      reason: 'flag',
      strategy: {
        groups: 3,
        podTimeoutSeconds: 60,
        gate: { type: 'auto', windowSeconds: 60, timeoutSeconds: 300, checks: [expect.objectContaining({ name: 'errors' })] },
      },
    });
    // a gate of another type replaces the file's, checks included
    expect(releaseBody({ file: 'release.yaml', gate: 'manual' }, file).strategy).toMatchObject({ gate: { type: 'manual' } });
    expect(releaseBody({ file: 'release.yaml', gate: 'manual' }, file).strategy!.gate as object).not.toHaveProperty('checks');
  });

  test('JSON is YAML too; an empty file is an empty body', () => {
    expect(parseReleaseFile('r.json', '{"revision": 2, "strategy": {"groups": 2}}', { tenant: 'acme', app: 'shop' })).toEqual({
      revision: 2,
      strategy: { groups: 2 },
    });
    expect(parseReleaseFile('r.yaml', '', { tenant: 'acme', app: 'shop' })).toEqual({});
  });

  test('a file that is not a body, or names another App, is refused naming the file', () => {
    const app = { tenant: 'acme', app: 'shop' };
    expect(refused(() => parseReleaseFile('r.yaml', '- a\n- b', app))).toMatch(/^r\.yaml: must hold the request body as an object/);
    expect(refused(() => parseReleaseFile('r.yaml', 'a: [', app))).toMatch(/^r\.yaml: not YAML or JSON/);
    expect(refused(() => parseReleaseFile('r.yaml', 'app: pay', app))).toBe('r.yaml: app "pay" is not the App of the command (shop)');
    expect(refused(() => parseReleaseFile('r.yaml', 'requestedBy: me', app))).toMatch(/requestedBy is not given/);
    expect(refused(() => parseReleaseFile('r.yaml', 'dryRun: true', app))).toMatch(/release plan/);
    expect(parseReleaseFile('r.yaml', 'app: shop\ntenant: acme\nrevision: 1', app)).toEqual({ revision: 1 });
    expect(refused(() => releaseBody({ file: 'r.yaml' }, { strategy: [1] }))).toBe('r.yaml: strategy must be an object');
  });
});

describe("the API's 400, with the flag that set each field", () => {
  test('fields map to their flags', () => {
    expect(flagOfField('strategy.groupSizes[1]')).toBe('--group-sizes');
    expect(flagOfField('strategy.gate.timeoutSeconds')).toBe('--gate-timeout');
    expect(flagOfField('strategy.gate.checks[0].query')).toBe('--gate');
    expect(flagOfField('strategy.maxUnavailable')).toBe('--max-unavailable');
    expect(flagOfField('mask.cells')).toBe('--mask');
    expect(flagOfField('app')).toBeUndefined();
  });

  test('each issue names the flag given for it, else the file', () => {
    const err = new CliError('400: invalid body: strategy.groups: more groups than pods\n  strategy.groups: more groups than pods', 1, [
      { field: 'strategy.groups', message: 'more groups than pods' },
      { field: 'strategy.gate.checks[0].query', message: 'does not parse' },
    ]);
    const annotated = annotateIssues(err, { groups: '9', file: 'release.yaml' }) as CliError;
    expect(annotated.message).toBe(
      '400: invalid body: strategy.groups: more groups than pods\n' +
        '  strategy.groups: more groups than pods (--groups)\n' +
        '  strategy.gate.checks[0].query: does not parse (release.yaml)',
    );
    expect(annotated.exitCode).toBe(1);
    const other = new Error('boom');
    expect(annotateIssues(other, {})).toBe(other);
  });
});
