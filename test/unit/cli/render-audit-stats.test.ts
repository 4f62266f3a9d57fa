import { duration, renderAuditStats } from '../../../cli/render-audit-stats.js';
import { auditStats, type ReleaseRun } from '../../../domain/audit-stats.js';

/** `barista audit stats` as a table: durations in their two largest units, counts with their rate. */
test.each<[number, string]>([
  [0, '0s'],
  [59.4, '59s'],
  [59.6, '1m00s'],
  [250, '4m10s'],
  [3600 + 5 * 60 + 59, '1h05m'],
  [3 * 86400 + 4 * 3600 + 59 * 60, '3d04h'],
])('%d seconds read %s', (seconds, text) => {
  expect(duration(seconds)).toBe(text);
});

const at = (s: number) => new Date(Date.UTC(2026, 10, 26, 12, 0, s)).toISOString();
const run = (app: string, lead: number, finished: string, paused = 0): ReleaseRun => ({
  app,
  entries: [
    { at: at(0), actor: 'alice', action: 'requested' },
    ...(paused
      ? [
          { at: at(1), actor: 'alice', action: 'paused' },
          { at: at(1 + paused), actor: 'alice', action: 'resumed' },
        ]
      : []),
    { at: at(lead), actor: 'barista', action: 'finished', detail: finished },
  ],
});

test('one line per app, then the tenant (its p50 of 20s, 90s, 250s is 90s)', () => {
  const stats = auditStats([run('pay', 90, 'all 2 pods at revision 2', 30), run('pay', 250, 'failed: x'), run('shop', 20, 'all 1 pods')]);
  expect(renderAuditStats({ tenant: 'acme', since: '2026-11-01T00:00:00Z', ...stats })).toEqual([
    'releases of acme requested from 2026-11-01T00:00:00Z to now',
    'app     releases  in flight  lead mean    p50    p90   failed  rolled back  aborted  paused (mean)',
    'pay            2          0      2m50s  1m30s  4m10s  1 (50%)       0 (0%)   0 (0%)            15s',
    'shop           1          0        20s    20s    20s   0 (0%)       0 (0%)   0 (0%)             0s',
    '(acme)         3          0      2m00s  1m30s  4m10s  1 (33%)       0 (0%)   0 (0%)            10s',
    'rates and means are over finished releases; paused: operator pauses and pauses after a failure, summed per release',
  ]);
  expect(renderAuditStats({ tenant: 'acme', app: 'pay', ...auditStats([]) })).toEqual([
    'releases of acme app pay requested from the first entry to now',
    '(none)',
  ]);
});
