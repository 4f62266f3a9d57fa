import { fileURLToPath } from 'node:url';
import { Worker } from '@temporalio/worker';
import { Registry } from 'prom-client';
import { createReleaseMetricSinks } from '../../worker/release-metrics.js';
import { uniqueName } from '../support/sandbox.js';
import { startReleaseHarness, type ReleaseHarness } from '../support/release-harness.js';
import { appSpec } from '../support/app-spec.js';

let h: ReleaseHarness;
beforeAll(async () => {
  h = await startReleaseHarness();
});
afterAll(async () => {
  await h?.stop();
});

/**
 * Determinism guard: a release recorded on the real server (gates, approvals, signals) replays cleanly
 * against the current workflow code. A change that would break releases in flight fails here, and must
 * go behind patched().
 */
test('a recorded release history replays against the current workflow code', async () => {
  const app = uniqueName('replay');
  const spec = (image: string) => appSpec(app, image, { cells: ['rz00b'], replicasPerCell: 2 });
  const { revision } = await h.releases.upsertApp(spec('registry.local/r:1'), 'alice');
  await h.releases.result(await h.releases.startRelease({ app, tenant: 'acme', revision, requestedBy: 'alice', strategy: { groups: 1 } }));
  await h.releases.upsertApp(spec('registry.local/r:2'), 'alice');
  const ref = await h.releases.startRelease({
    app,
    tenant: 'acme',
    requestedBy: 'alice',
    strategy: { groups: 2, gate: { type: 'manual' } },
  });
  await h.releases.pause(ref, { by: 'bob' });
  await h.releases.resume(ref, { by: 'bob' });
  await h.releases.approve(ref, { by: 'carol', group: 0 });
  expect((await h.releases.result(ref)).state).toBe('succeeded');

  const history = await h.client.workflow.getHandle(ref.workflowId, ref.runId).fetchHistory();
  await expect(
    Worker.runReplayHistory(
      {
        workflowsPath: fileURLToPath(new URL('../../workflows/index.ts', import.meta.url)),
        sinks: createReleaseMetricSinks(new Registry()),
      },
      history,
      ref.workflowId,
    ),
  ).resolves.toBeUndefined();
});
