import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from '@temporalio/worker';
import { Registry } from 'prom-client';
import { createReleaseMetricSinks } from '../../worker/release-metrics.js';
import { recordedWorkflowIds, WORKFLOW_IDS_FILE } from './workflow-ids.js';

/**
 * Determinism guard across versions: release histories recorded by an EARLIER version of the workflow code
 * (test/replay/histories, written by `temporal workflow show -o json`; `v1-*` were recorded before release
 * safety) replay cleanly against the current code, in one replay worker. A change that would break releases
 * in flight fails here and must go behind patched().
 */
const dir = fileURLToPath(new URL('./histories/', import.meta.url));
const ids = recordedWorkflowIds();
const files = readdirSync(dir).filter((f) => f.endsWith('.json') && f !== WORKFLOW_IDS_FILE);

test('every recorded history replays against the current workflow code', async () => {
  expect(files.length).toBeGreaterThanOrEqual(5);
  const histories = files.map((file) => ({
    workflowId: ids[file] ?? file,
    history: JSON.parse(readFileSync(`${dir}${file}`, 'utf8')) as unknown,
  }));
  const failures: string[] = [];
  const replayed: string[] = [];
  for await (const result of Worker.runReplayHistories(
    {
      workflowsPath: fileURLToPath(new URL('../../workflows/index.ts', import.meta.url)),
      sinks: createReleaseMetricSinks(new Registry()),
    },
    histories,
  )) {
    if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
    else replayed.push(result.workflowId);
  }
  expect(failures).toEqual([]);
  expect(replayed).toHaveLength(files.length);
});
