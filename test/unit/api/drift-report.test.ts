import { reportForApp } from '../../../api/drift-client.js';
import { renderDriftReport, renderDriftRun } from '../../../cli/drift.js';
import type { DriftReport } from '../../../workflows/drift-definitions.js';

const report: DriftReport = {
  tenant: 'acme',
  workflowId: 'drift/acme-2026-11-26T10:05:00Z',
  runId: 'r1',
  dryRun: false,
  by: 'schedule',
  startedAt: '2026-11-26T10:05:00Z',
  finishedAt: '2026-11-26T10:05:09Z',
  apps: [
    {
      app: 'shop',
      state: 'repaired',
      cells: [
        {
          cell: 'rz00a',
          cluster: 'kc1',
          revision: 3,
          state: 'drifted',
          findings: [
            {
              cell: 'rz00a',
              object: 'pod/shop-rz00a-0',
              field: 'spec.containers[name=web].image',
              expected: 'registry.local/shop:3',
              actual: 'registry.local/shop:evil',
              outcome: 'repaired',
            },
            {
              cell: 'rz00a',
              object: 'statefulset/shop-rz00a',
              field: 'metadata.annotations[team]',
              expected: 'a',
              actual: 'b',
              outcome: 'quarantined',
              reason: 'drifted again after 3 repairs in a row; consider ignoring it',
            },
          ],
        },
        { cell: 'rz01a', cluster: 'kc2', state: 'unreachable', reason: 'cluster kc2 did not answer', findings: [] },
      ],
    },
    { app: 'pay', state: 'skipped', reason: 'a release is in flight', cells: [] },
  ],
  totals: { apps: 2, found: 2, repaired: 1, quarantined: 1, failed: 0, skippedApps: 1 },
};

test('a report reduced to one App counts its totals over that App only', () => {
  expect(reportForApp(report, 'pay')).toMatchObject({
    apps: [{ app: 'pay' }],
    totals: { apps: 1, found: 0, repaired: 0, quarantined: 0, failed: 0, skippedApps: 1 },
  });
  expect(reportForApp(report, 'shop').totals).toEqual({ apps: 1, found: 2, repaired: 1, quarantined: 1, failed: 0, skippedApps: 0 });
  expect(reportForApp(report, 'absent')).toMatchObject({ apps: [], totals: { apps: 0, found: 0 }, runId: 'r1' });
});

test('the readable report: per App and cell, each finding with field, expected → actual, outcome and reason', () => {
  expect(renderDriftReport(report)).toEqual([
    '  by schedule, 2026-11-26T10:05:00Z → 2026-11-26T10:05:09Z: 2 apps, 2 found, 1 repaired, 1 quarantined, 0 failed, 1 skipped',
    '  shop: repaired',
    '    rz00a (kc1, rev 3): drifted',
    '      pod/shop-rz00a-0 spec.containers[name=web].image: registry.local/shop:3 → registry.local/shop:evil  repaired',
    '      statefulset/shop-rz00a metadata.annotations[team]: a → b  quarantined (drifted again after 3 repairs in a row; consider ignoring it)',
    '    rz01a (kc2): unreachable (cluster kc2 did not answer)',
    '  pay: skipped (a release is in flight)',
  ]);
  expect(
    renderDriftRun({ workflowId: 'drift/acme/manual-x', runId: 'r2', status: 'TERMINATED', startTime: '2026-11-26T10:00:00Z', by: 'ada' }),
  ).toEqual(['2026-11-26T10:00:00Z  terminated drift/acme/manual-x  run r2  by ada', '  no report (the run ended terminated)']);
});
