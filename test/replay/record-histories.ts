/**
 * Records release histories of the CURRENT workflow code into test/replay/histories/<prefix>-*.json, so a later
 * change to the workflows is replayed against them (recorded-histories.test.ts). Run it before changing how a
 * release runs: `npx tsx test/replay/record-histories.ts v2`; names after the prefix record only those
 * (`... v2 app-entity`). Uses the time-skipping test server and the fake activities of the workflow tests (the
 * decisions recorded are the workflow's, not Kubernetes').
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import type { ReleaseRef } from '../../api/release-client.js';
import { AppSpecSchema } from '../../domain/index.js';
import { appEntityId } from '../../workflows/app-entity.js';
import { appQuery, driftMemorySignal, markRevisionUpdate, releaseCompletedSignal, upsertAppUpdate } from '../../workflows/definitions.js';
import { appSpec } from '../support/app-spec.js';
import { startWorkflowTestEnv, until } from '../workflow/workflow-env.js';
import { recordedWorkflowIds, WORKFLOW_IDS_FILE } from './workflow-ids.js';

const prefix = process.argv[2];
if (!prefix || !/^v\d+$/.test(prefix)) throw new Error('usage: record-histories.ts v<N>');
const dir = fileURLToPath(new URL('./histories/', import.meta.url));
const only = process.argv.slice(3);
/** Whether to record `name` this time (all of them when none is named). */
const wanted = (name: string) => only.length === 0 || only.includes(name);

const w = await startWorkflowTestEnv();
const by = { by: 'alice' };
async function release(name: string, o: { revisions?: number; replicas?: number; groups: number; gate?: object; onFailure?: string }) {
  await w.registerApp(name, { revisions: o.revisions ?? 2, replicas: o.replicas ?? 4 });
  const strategy = { groups: o.groups, gate: o.gate ?? { type: 'manual' }, ...(o.onFailure ? { onFailure: o.onFailure } : {}) };
  return w.releases.startRelease({ app: name, tenant: 'acme', requestedBy: 'alice', strategy });
}
/**
 * Saves the history of `ref`, once it has ended (unless `running`: as it is now, without waiting). `keepId`: the
 * workflow's decisions depend on its own id (a release names its batch children after it), so the replay needs it.
 */
async function save(name: string, ref: ReleaseRef, o: { running?: boolean; keepId?: boolean } = {}) {
  if (!o.running) await w.releases.result(ref).catch(() => undefined);
  const history = await w.env.client.workflow.getHandle(ref.workflowId, ref.runId).fetchHistory();
  const file = `${prefix}-${name}.json`;
  writeFileSync(`${dir}${file}`, historyToJSON(history));
  if (o.keepId) {
    const ids = recordedWorkflowIds();
    ids[file] = ref.workflowId;
    writeFileSync(`${dir}${WORKFLOW_IDS_FILE}`, `${JSON.stringify(ids, null, 2)}\n`);
  }
  console.log(`recorded ${file} (${history.events?.length} events)`);
  return history;
}
const atGate = (group: number) => (s: { state: string; gates: { group: number; state: string }[] }) =>
  s.state === 'waiting-approval' && s.gates.find((g) => g.group === group)?.state === 'waiting';

try {
  if (wanted('manual-gates')) {
    // three groups behind manual gates, each approved
    const manual = await release('manual-gates', { groups: 3 });
    for (const group of [0, 1]) {
      await until(w.releases, manual, `gate ${group}`, atGate(group));
      await w.releases.approve(manual, { ...by, group });
    }
    await save('manual-gates', manual);
  }

  if (wanted('pod-failure-resume')) {
    // a pod fails: the release pauses; resume retries it
    w.failing.set('pod-failure-resume-rz00a-0', { pod: 'pod-failure-resume-rz00a-0', step: 'drain', reason: 'stuck' });
    const failing = await release('pod-failure-resume', { groups: 2, gate: { type: 'timed', seconds: 1 } });
    await until(w.releases, failing, 'paused on the failing pod', (s) => s.state === 'paused');
    w.failing.delete('pod-failure-resume-rz00a-0');
    await w.releases.resume(failing, by);
    await save('pod-failure-resume', failing);
  }

  if (wanted('pod-failure-skip')) {
    // a pod fails and is skipped: the release goes on
    w.failing.set('pod-failure-skip-rz00a-1', { pod: 'pod-failure-skip-rz00a-1', step: 'await-ready', reason: 'crash' });
    const skipping = await release('pod-failure-skip', { groups: 2, gate: { type: 'timed', seconds: 1 } });
    await until(w.releases, skipping, 'paused on the failing pod', (s) => s.state === 'paused');
    await w.releases.skipPod(skipping, { ...by, pod: 'pod-failure-skip-rz00a-1' });
    await save('pod-failure-skip', skipping);
    w.failing.clear();
  }

  if (wanted('rollback-at-gate')) {
    // rollback requested at the first gate
    const rollback = await release('rollback-at-gate', { groups: 2 });
    await until(w.releases, rollback, 'gate 0', atGate(0));
    await w.releases.rollback(rollback, { ...by, reason: 'bad canary' });
    await save('rollback-at-gate', rollback);
  }

  if (wanted('auto-rollback')) {
    // a failing pod with onFailure rollback
    w.failing.set('auto-rollback-rz00a-2', { pod: 'auto-rollback-rz00a-2', step: 'await-ready', reason: 'crash loop' });
    const auto = await release('auto-rollback', { groups: 2, gate: { type: 'timed', seconds: 1 }, onFailure: 'rollback' });
    await save('auto-rollback', auto);
    w.failing.clear();
  }

  if (wanted('abort-at-gate')) {
    // aborted at a gate: drained pods handed back, ends aborted
    const abort = await release('abort-at-gate', { groups: 3 });
    await until(w.releases, abort, 'gate 0', atGate(0));
    await w.releases.abort(abort, { ...by, reason: 'stop' });
    await save('abort-at-gate', abort);
  }
  // an App entity: registered, a new revision, the same spec again, a release completed, drift memory (running)
  if (wanted('app-entity')) {
    await w.registerApp('app-entity', { revisions: 2 });
    const entity = w.env.client.workflow.getHandle(appEntityId('acme', 'app-entity'));
    const spec = AppSpecSchema.parse(appSpec('app-entity', 'registry.local/app:3', { cells: ['rz00a'], replicasPerCell: 2 }));
    await entity.executeUpdate(upsertAppUpdate, { args: [{ spec, by: 'bob' }] });
    await entity.executeUpdate(upsertAppUpdate, { args: [{ spec, by: 'bob' }] });
    await entity.signal(releaseCompletedSignal, { revision: 3, cells: ['rz00a'] });
    await entity.signal(driftMemorySignal, { memory: { 'rz00a/x': 1 } });
    await entity.query(appQuery);
    const { runId } = await entity.describe();
    await save('app-entity', { workflowId: entity.workflowId, runId }, { running: true });
  }
  // revision marks on the App entity: 3 marked bad, released anyway by name, marked good, a new revision
  if (wanted('app-entity-marks')) {
    await w.registerApp('app-entity-marks', { revisions: 3 });
    const entity = w.env.client.workflow.getHandle(appEntityId('acme', 'app-entity-marks'));
    await entity.executeUpdate(markRevisionUpdate, { args: [{ revision: 3, verdict: 'bad', reason: 'crash loop', by: 'alice' }] });
    const named = await w.releases.startRelease({
      app: 'app-entity-marks',
      tenant: 'acme',
      revision: 3,
      requestedBy: 'alice',
      strategy: { groups: 1 },
    });
    // polled, not awaited: awaiting a result lets the test server skip time, and the App entity would time out
    await until(w.releases, named, 'the release to 3', (st) => st.state === 'succeeded');
    await entity.executeUpdate(markRevisionUpdate, { args: [{ revision: 3, verdict: 'good', reason: 'fixed', by: 'bob' }] });
    const spec = AppSpecSchema.parse(appSpec('app-entity-marks', 'registry.local/app:4', { cells: ['rz00a'], replicasPerCell: 2 }));
    await entity.executeUpdate(upsertAppUpdate, { args: [{ spec, by: 'bob' }] });
    const { runId } = await entity.describe();
    await save('app-entity-marks', { workflowId: entity.workflowId, runId }, { running: true });
  }
  // the batch child workflows of a release whose pod fails and is retried on resume: one clean batch, and the
  // batch of the failing pod (its lanes held, the failure signalled to the release, the retry)
  if (wanted('batches')) {
    w.failing.set('batches-rz00a-1', { pod: 'batches-rz00a-1', step: 'await-ready', reason: 'crash' });
    const ref = await release('batches', { groups: 2, gate: { type: 'timed', seconds: 1 } });
    await until(w.releases, ref, 'paused on the failing pod', (s) => s.state === 'paused');
    w.failing.delete('batches-rz00a-1');
    await w.releases.resume(ref, by);
    const parent = await save('batches', ref, { keepId: true });
    const children = (parent.events ?? []).flatMap((e) => {
      const child = e.childWorkflowExecutionStartedEventAttributes?.workflowExecution;
      return child?.workflowId ? [child] : [];
    });
    for (const [i, child] of children.entries()) await save(`batch-${i}`, { workflowId: child.workflowId!, runId: child.runId! });
  }
} finally {
  await w.stop();
}
