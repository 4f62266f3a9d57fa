import { activeWindow, ChangeWindowsSchema, type ChangeWindow } from '../../../domain/change-windows.js';

/** Change windows: one-off intervals and weekly windows in a time zone, daylight saving included. */
const parse = (v: unknown) => ChangeWindowsSchema.parse(v) as ChangeWindow[];
const at = (iso: string) => new Date(iso);

test('a one-off window is active from its start to its end', () => {
  const windows = parse([
    { kind: 'once', name: 'year-end', start: '2026-12-24T00:00:00+08:00', end: '2027-01-03T00:00:00+08:00', reason: 'freeze' },
  ]);
  expect(activeWindow(windows, at('2026-12-23T15:59:59Z'))).toBeUndefined();
  expect(activeWindow(windows, at('2026-12-23T16:00:00Z'))).toEqual({
    name: 'year-end',
    until: '2027-01-02T16:00:00.000Z',
    reason: 'freeze',
  });
  expect(activeWindow(windows, at('2027-01-02T16:00:00Z'))).toBeUndefined();
});

test('a weekly window repeats in its time zone, overnight ones end the next day, daylight saving moves it in UTC', () => {
  const windows = parse([{ kind: 'weekly', name: 'friday-night', days: ['fri'], from: '18:00', to: '06:00', timeZone: 'Europe/Berlin' }]);
  // Friday 2026-11-27, Berlin is UTC+1 in winter: 17:00Z to Saturday 05:00Z
  expect(activeWindow(windows, at('2026-11-27T16:59:00Z'))).toBeUndefined();
  expect(activeWindow(windows, at('2026-11-27T17:00:00Z'))?.until).toBe('2026-11-28T05:00:00.000Z');
  expect(activeWindow(windows, at('2026-11-28T04:59:00Z'))?.name).toBe('friday-night'); // Saturday early, started Friday
  expect(activeWindow(windows, at('2026-11-28T05:00:00Z'))).toBeUndefined();
  expect(activeWindow(windows, at('2026-11-26T20:00:00Z'))).toBeUndefined(); // Thursday
  // Friday 2026-07-03, summer time UTC+2: 16:00Z
  expect(activeWindow(windows, at('2026-07-03T16:00:00Z'))?.until).toBe('2026-07-04T04:00:00.000Z');
  expect(activeWindow(windows, at('2026-07-03T15:59:00Z'))).toBeUndefined();
});

test('of several windows at once, the one ending last is told', () => {
  const windows = parse([
    { kind: 'once', name: 'short', start: '2026-11-26T00:00:00Z', end: '2026-11-26T02:00:00Z' },
    { kind: 'weekly', name: 'thursdays', days: ['thu'], from: '00:00', to: '23:59', timeZone: 'UTC' },
  ]);
  expect(activeWindow(windows, at('2026-11-26T01:00:00Z'))).toEqual({ name: 'thursdays', until: '2026-11-26T23:59:00.000Z' });
});

test('bad windows are refused naming the field', () => {
  const issues = (v: unknown) => ChangeWindowsSchema.safeParse(v).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];
  expect(issues([{ kind: 'once', name: 'x', start: '2026-12-02T00:00:00Z', end: '2026-12-01T00:00:00Z' }])).toEqual([
    '0.end: must be after start',
  ]);
  expect(issues([{ kind: 'weekly', name: 'x', days: ['fri'], from: '25:00', to: '06:00', timeZone: 'Mars/Olympus' }])).toEqual([
    '0.from: must be a time of day HH:MM (00:00 to 23:59)',
    '0.timeZone: "Mars/Olympus" is not an IANA time zone (e.g. Europe/Berlin, UTC)',
  ]);
  expect(issues([{ kind: 'weekly', name: 'x', days: ['friday'], from: '18:00', to: '06:00', timeZone: 'UTC' }])[0]).toMatch(
    /^0\.days\.0: must be one of sun/,
  );
  expect(issues([{ kind: 'monthly', name: 'x' }])[0]).toMatch(/^0\.kind: kind must be "once"/);
  expect(
    issues([
      { kind: 'once', name: 'a', start: '2026-12-01T00:00:00Z', end: '2026-12-02T00:00:00Z' },
      { kind: 'once', name: 'a', start: '2026-12-01T00:00:00Z', end: '2026-12-02T00:00:00Z' },
    ]),
  ).toEqual(['1.name: window "a" is named twice']);
  expect(issues([{ kind: 'once', name: 'x', start: '2026-12-01', end: '2026-12-02T00:00:00Z' }])[0]).toMatch(
    /^0\.start: must be an ISO 8601 time/,
  );
});
