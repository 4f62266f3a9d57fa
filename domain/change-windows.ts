import { z } from 'zod';

/**
 * Change windows (docs/tickets.md, "Change windows"): times a tenant's releases must not start a group. A release
 * reaching a group boundary inside one waits there until it ends; nothing stops in the middle of a group. One-off
 * windows are an interval; weekly ones repeat on some days of the week, in a time zone (its daylight saving
 * included).
 */
export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

const name = z
  .string()
  .min(1, 'a window needs a name')
  .max(100)
  .regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]*$/, 'letters, digits, spaces, ".", "_" and "-"');
const instant = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 time with its offset, e.g. 2026-12-24T00:00:00+01:00' });
const clock = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be a time of day HH:MM (00:00 to 23:59)');
const timeZone = z.string().refine(isTimeZone, {
  // quoted at most 64 characters: the message goes back to whoever sent a (possibly huge) string
  error: (issue) => `"${String(issue.input).slice(0, 64)}" is not an IANA time zone (e.g. Europe/Berlin, UTC)`,
});

export const ChangeWindowSchema = z.discriminatedUnion(
  'kind',
  [
    z
      .strictObject({ kind: z.literal('once'), name, reason: z.string().max(500).optional(), start: instant, end: instant })
      .refine((w) => Date.parse(w.end) > Date.parse(w.start), { path: ['end'], error: 'must be after start' }),
    z.strictObject({
      kind: z.literal('weekly'),
      name,
      reason: z.string().max(500).optional(),
      days: z.array(z.enum(WEEKDAYS, { error: `must be one of ${WEEKDAYS.join(', ')}` })).min(1, 'name at least one day'),
      /** Local start on each of `days`; `to` at or before `from` ends the next day (overnight). */
      from: clock,
      to: clock,
      timeZone,
    }),
  ],
  { error: 'kind must be "once" (start, end) or "weekly" (days, from, to, timeZone)' },
);
export type ChangeWindow = z.output<typeof ChangeWindowSchema>;

export const ChangeWindowsSchema = z
  .array(ChangeWindowSchema)
  .max(200)
  .superRefine((windows, ctx) => {
    const seen = new Set<string>();
    windows.forEach((w, i) => {
      if (seen.has(w.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `window "${w.name}" is named twice` });
      seen.add(w.name);
    });
  });

/** The window `at` falls in (the one ending last when several do), with when it ends. */
export function activeWindow(windows: ChangeWindow[], at: Date): { name: string; until: string; reason?: string } | undefined {
  let found: { name: string; until: number; reason?: string } | undefined;
  for (const w of windows) {
    const until = w.kind === 'once' ? onceEnd(w, at) : weeklyEnd(w, at);
    if (until !== undefined && (!found || until > found.until)) found = { name: w.name, until, ...(w.reason ? { reason: w.reason } : {}) };
  }
  return found && { name: found.name, until: new Date(found.until).toISOString(), ...(found.reason ? { reason: found.reason } : {}) };
}

function onceEnd(w: Extract<ChangeWindow, { kind: 'once' }>, at: Date): number | undefined {
  const start = Date.parse(w.start);
  const end = Date.parse(w.end);
  return at.getTime() >= start && at.getTime() < end ? end : undefined;
}

/** The end of the weekly window's occurrence that contains `at` (one started today or yesterday, local time). */
function weeklyEnd(w: Extract<ChangeWindow, { kind: 'weekly' }>, at: Date): number | undefined {
  const today = localDate(at, w.timeZone);
  for (const back of [0, 1]) {
    const day = addDays(today, -back);
    if (!w.days.includes(WEEKDAYS[new Date(Date.UTC(day.y, day.m - 1, day.d)).getUTCDay()]!)) continue;
    const [fh, fm] = w.from.split(':').map(Number) as [number, number];
    const [th, tm] = w.to.split(':').map(Number) as [number, number];
    const start = zonedToUtc(day, fh, fm, w.timeZone);
    const endDay = th * 60 + tm <= fh * 60 + fm ? addDays(day, 1) : day;
    const end = zonedToUtc(endDay, th, tm, w.timeZone);
    if (at.getTime() >= start && at.getTime() < end) return end;
  }
  return undefined;
}

interface LocalDay {
  y: number;
  m: number;
  d: number;
}

function addDays(day: LocalDay, n: number): LocalDay {
  const t = new Date(Date.UTC(day.y, day.m - 1, day.d + n));
  return { y: t.getUTCFullYear(), m: t.getUTCMonth() + 1, d: t.getUTCDate() };
}

/** Wall-clock fields of `at` in `timeZone`. */
function wallClock(at: Date, timeZone: string): LocalDay & { h: number; mi: number; s: number } {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(at);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  return { y: get('year'), m: get('month'), d: get('day'), h: get('hour'), mi: get('minute'), s: get('second') };
}

function localDate(at: Date, timeZone: string): LocalDay {
  const { y, m, d } = wallClock(at, timeZone);
  return { y, m, d };
}

/** How far `timeZone` is ahead of UTC at `instant`, in ms. */
function offsetAt(instant: number, timeZone: string): number {
  const w = wallClock(new Date(instant), timeZone);
  return Date.UTC(w.y, w.m - 1, w.d, w.h, w.mi, w.s) - Math.floor(instant / 1000) * 1000;
}

/** The instant a local wall-clock time happens in `timeZone` (a time skipped by daylight saving: just after). */
function zonedToUtc(day: LocalDay, h: number, mi: number, timeZone: string): number {
  const guess = Date.UTC(day.y, day.m - 1, day.d, h, mi);
  const first = guess - offsetAt(guess, timeZone);
  return guess - offsetAt(first, timeZone);
}

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
