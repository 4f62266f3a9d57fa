import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { ReleaseRef } from '../../api/release-client.js';
import { ActionFailureTypes, RELEASE_ACTIONS } from '../../workflows/definitions.js';
import type { ReleaseStatus } from '../../workflows/release-status.js';
import { startWorkflowTestEnv, until, type WorkflowTestEnv } from './workflow-env.js';

/**
 * Operator actions on the real AppRelease workflow (time-skipping test server, fake activities): signals
 * with any input never fail a workflow task and record what they reject; Updates refuse synchronously with
 * the reason; pause, resume, abort, rollback, skip-pod and promote-all decide what the release does next.
 */
let w: WorkflowTestEnv;
beforeAll(async () => {
  w = await startWorkflowTestEnv();
}, 120_000);
afterAll(async () => {
  await w?.stop();
});

let n = 0;
/** A release of a fresh App (1 cell, `replicas` pods) in `groups` groups behind manual gates, started and planned. */
async function manualRelease(o: { groups?: number; replicas?: number; revisions?: number; timeoutSeconds?: number } = {}) {
  const app = `actions-${++n}`;
  await w.registerApp(app, { revisions: o.revisions ?? 1, replicas: o.replicas ?? 2 });
  const gate = { type: 'manual', ...(o.timeoutSeconds ? { timeoutSeconds: o.timeoutSeconds } : {}) };
  const ref = await w.releases.startRelease({ app, tenant: 'acme', requestedBy: 'alice', strategy: { groups: o.groups ?? 2, gate } });
  return { app, ref };
}

const atGate = (group: number) => (s: ReleaseStatus) =>
  s.state === 'waiting-approval' && s.gates.find((g) => g.group === group)?.state === 'waiting';
const rejected = (s: ReleaseStatus, action: string) => s.audit.filter((a) => a.action === `${action}-rejected`);
/** The workflow's history has no failed workflow task: no input bricked it. */
async function noFailedWorkflowTask(ref: ReleaseRef): Promise<void> {
  const history = await w.env.client.workflow.getHandle(ref.workflowId, ref.runId).fetchHistory();
  expect(history.events?.filter((e) => e.workflowTaskFailedEventAttributes)).toEqual([]);
}
/** The raw handle, as `temporal workflow signal/update` reaches it: any name, any input. */
const raw = (ref: ReleaseRef) => w.env.client.workflow.getHandle(ref.workflowId, ref.runId);

describe('signals (compatibility path): any input, no failed workflow task', () => {
  test('approve with no input, {} or {"group":"x"} is recorded as rejected; the release carries on and a valid approve passes the gate', async () => {
    const { ref } = await manualRelease();
    await until(w.releases, ref, 'the gate after group 0', atGate(0));
    await raw(ref).signal<[]>('approve');
    await raw(ref).signal<[unknown]>('approve', {});
    await raw(ref).signal<[unknown]>('approve', { group: 'x' });
    await raw(ref).signal<[unknown]>('approve', { by: '   ', group: 0 });
    const s = await until(w.releases, ref, 'four rejections recorded', (x) => rejected(x, 'approve').length === 4);
    expect(s.state).toBe('waiting-approval');
    expect(s.gates[0]).toMatchObject({ state: 'waiting' });
    expect(rejected(s, 'approve').map((a) => [a.by, a.detail])).toEqual([
      ['(anonymous)', expect.stringMatching(/^invalid input: \(root\): must be an object .*got no input/)],
      ['(anonymous)', expect.stringMatching(/by: is required/)],
      [
        '(anonymous)',
        expect.stringMatching(
          /group: must be a non-negative integer.*by: is required|by: is required.*group: must be a non-negative integer/,
        ),
      ],
      ['(anonymous)', expect.stringMatching(/by: must not be empty/)],
    ]);
    expect(s.audit.some((a) => a.action === 'approved')).toBe(false);

    await raw(ref).signal<[unknown]>('approve', { by: 'carol', group: 0, reason: 'canary fine' });
    const final = await w.releases.result(ref);
    expect(final.state).toBe('succeeded');
    expect(final.gates[0]).toMatchObject({ state: 'passed', decidedBy: 'carol' });
    await noFailedWorkflowTask(ref);
  });

  test('every action signal without input, or with wrong types, is rejected and changes nothing', async () => {
    const { ref } = await manualRelease({ revisions: 2 });
    await until(w.releases, ref, 'the gate after group 0', atGate(0));
    for (const action of RELEASE_ACTIONS) {
      await raw(ref).signal<[]>(action);
      await raw(ref).signal<[unknown]>(action, { by: 42, reason: ['x'], pod: 7 });
      await raw(ref).signal<[unknown]>(action, 'approve please');
    }
    const s = await until(w.releases, ref, 'every rejection recorded', (x) => RELEASE_ACTIONS.every((a) => rejected(x, a).length === 3));
    expect(s.state).toBe('waiting-approval');
    expect(s.paused).toBeUndefined();
    expect(s.gates[0]).toMatchObject({ state: 'waiting' });
    expect(s.audit.filter((a) => !a.action.endsWith('-rejected')).map((a) => a.action)).toEqual(['requested']);
    await noFailedWorkflowTask(ref);
    // still steerable
    await w.releases.abort(ref, { by: 'oncall' });
    expect((await w.releases.result(ref)).state).toBe('aborted');
  });

  test('a well-formed signal the release cannot take is recorded as rejected with the reason', async () => {
    const { ref } = await manualRelease();
    await until(w.releases, ref, 'the gate after group 0', atGate(0));
    await raw(ref).signal<[unknown]>('approve', { by: 'carol', group: 99 });
    await raw(ref).signal<[unknown]>('skip-pod', { by: 'carol', pod: 'not-a-pod' });
    await raw(ref).signal<[unknown]>('rollback', { by: 'carol' });
    await raw(ref).signal<[unknown]>('resume', { by: 'carol' });
    const s = await until(w.releases, ref, 'four rejections', (x) => x.audit.filter((a) => a.action.endsWith('-rejected')).length === 4);
    expect(s.audit.filter((a) => a.action.endsWith('-rejected')).map((a) => [a.action, a.by, a.detail])).toEqual([
      ['approve-rejected', 'carol', expect.stringMatching(/^no gate for group 99/)],
      ['skip-pod-rejected', 'carol', 'pod not-a-pod is not in this release'],
      ['rollback-rejected', 'carol', 'nothing to roll back to (first release)'],
      ['resume-rejected', 'carol', expect.stringMatching(/^not paused/)],
    ]);
    await w.releases.approve(ref, { by: 'carol' });
    expect((await w.releases.result(ref)).state).toBe('succeeded');
  });
});

describe('updates: refused synchronously with the reason, nothing recorded', () => {
  test('approve of a group without a gate, or of a gate already passed, is a conflict naming why', async () => {
    const { ref } = await manualRelease({ groups: 3, replicas: 3 });
    await until(w.releases, ref, 'the gate after group 0', atGate(0));
    const before = (await w.releases.status(ref)).audit.length;
    await expect(w.releases.approve(ref, { by: 'carol', group: 99 })).rejects.toMatchObject({
      code: 'CONFLICT',
      message: expect.stringMatching(/^approve refused: no gate for group 99/),
    });
    await expect(w.releases.approve(ref, { by: 'carol', group: 2 })).rejects.toMatchObject({
      message: expect.stringMatching(/no gate for group 2 \(gates follow groups 0, 1\)/),
    });
    expect((await w.releases.status(ref)).audit).toHaveLength(before);

    const ok = await w.releases.approve(ref, { by: 'carol', group: 0, reason: 'lgtm' });
    expect(ok).toMatchObject({ action: 'approve', recorded: { by: 'carol', action: 'approved', detail: 'group 0: lgtm' } });
    await until(w.releases, ref, 'the gate after group 1', atGate(1));
    await expect(w.releases.approve(ref, { by: 'dave', group: 0 })).rejects.toMatchObject({
      code: 'CONFLICT',
      message: expect.stringMatching(/group 0 already approved by carol/),
    });
    await w.releases.approve(ref, { by: 'dave' });
    const final = await w.releases.result(ref);
    expect(final.gates.map((g) => [g.state, g.decidedBy])).toEqual([
      ['passed', 'carol'],
      ['passed', 'dave'],
    ]);
  });

  test('malformed input is refused as invalid, naming the field; an empty `by` is not an identity', async () => {
    const { ref } = await manualRelease();
    await until(w.releases, ref, 'the gate after group 0', atGate(0));
    for (const [input, message] of [
      [undefined, /\(root\): must be an object/],
      [{}, /by: is required/],
      [{ by: '' }, /by: must not be empty/],
      [{ by: 'carol', group: -1 }, /group: must be a non-negative integer/],
      [{ by: 'carol', group: 0.5 }, /group: must be a non-negative integer/],
      [{ by: 'carol', grop: 0 }, /Unrecognized key/],
    ] as const) {
      const err = await raw(ref)
        .executeUpdate<unknown, [unknown]>('approve', { args: [input] })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
      expect((err as WorkflowUpdateFailedError).cause).toMatchObject({
        type: ActionFailureTypes.invalidInput,
        message: expect.stringMatching(message),
      });
    }
    await expect(w.releases.approve(ref, { by: '' })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    const s = await w.releases.status(ref);
    expect(s.audit.map((a) => a.action)).toEqual(['requested']);
    expect(s.gates[0]).toMatchObject({ state: 'waiting' });
    await noFailedWorkflowTask(ref);
    await w.releases.abort(ref, { by: 'oncall' });
  });

  test('skip-pod of a pod not in the release is refused; of a failing pod it hands the pod back and the release goes on', async () => {
    const { ref } = await manualRelease({ groups: 2, replicas: 2 });
    await until(w.releases, ref, 'planned', (s) => s.pods.length === 2);
    await expect(w.releases.skipPod(ref, { by: 'oncall', pod: 'nope' })).rejects.toMatchObject({
      code: 'CONFLICT',
      message: 'skip-pod refused: pod nope is not in this release',
    });
    // group 0 is done by now; group 1's pod fails once approved
    const s0 = await until(w.releases, ref, 'the gate after group 0', atGate(0));
    const [done, failing] = [s0.groups[0]!.pods[0]!, s0.groups[1]!.pods[0]!];
    await expect(w.releases.skipPod(ref, { by: 'oncall', pod: done })).rejects.toMatchObject({
      message: expect.stringMatching(/already released/),
    });
    w.failing.set(failing, { pod: failing, step: 'await-ready', reason: 'image never became ready' });
    await w.releases.approve(ref, { by: 'carol' });
    const paused = await until(w.releases, ref, 'paused on the failing pod', (s) => s.state === 'paused');
    expect(paused.paused).toMatchObject({ pod: failing, step: 'await-ready', by: 'barista' });
    const skipped = await w.releases.skipPod(ref, { by: 'oncall', pod: failing, reason: 'broken node' });
    expect(skipped.recorded).toMatchObject({ action: 'skip-pod', by: 'oncall', detail: `${failing}: broken node` });
    const final = await w.releases.result(ref);
    expect(final.state).toBe('succeeded');
    expect(final.pods.find((p) => p.name === failing)?.state).toBe('skipped');
    expect(w.handedBack).toContain(failing);
    w.failing.delete(failing);
  });

  test('pause holds the release after an approval until resume; resume of a running release is refused', async () => {
    const { ref } = await manualRelease();
    await until(w.releases, ref, 'the gate after group 0', atGate(0));
    await expect(w.releases.resume(ref, { by: 'oncall' })).rejects.toMatchObject({
      code: 'CONFLICT',
      message: 'resume refused: not paused (state waiting-approval)',
    });
    expect(await w.releases.pause(ref, { by: 'oncall', reason: 'incident' })).toMatchObject({
      state: 'paused',
      recorded: { action: 'paused' },
    });
    await w.releases.approve(ref, { by: 'carol' });
    await new Promise((r) => setTimeout(r, 500));
    const held = await w.releases.status(ref);
    expect(held.state).toBe('paused');
    expect(held.paused).toMatchObject({ reason: 'incident', by: 'oncall' });
    expect(held.pods.filter((p) => p.group === 1).map((p) => p.state)).toEqual(['pending']);
    await w.releases.resume(ref, { by: 'oncall' });
    expect((await w.releases.result(ref)).state).toBe('succeeded');
  });

  test('abort at a gate stops the release with what changed; an action on the finished release is refused as finished', async () => {
    const { ref } = await manualRelease();
    const s = await until(w.releases, ref, 'the gate after group 0', atGate(0));
    const result = await w.releases.abort(ref, { by: 'oncall', reason: 'stop' });
    expect(result.recorded).toMatchObject({ action: 'abort-requested', by: 'oncall', detail: 'stop' });
    const final = await w.releases.result(ref);
    expect(final.state).toBe('aborted');
    expect(final.changedPods).toEqual(s.groups[0]!.pods);
    expect(final.audit.at(-1)).toMatchObject({ action: 'finished', by: 'oncall' });
    for (const act of [
      () => w.releases.abort(ref, { by: 'oncall' }),
      () => w.releases.approve(ref, { by: 'carol', group: 0 }),
      () => w.releases.resume(ref, { by: 'carol' }),
    ])
      await expect(act()).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringMatching(/release already finished/) });
  });

  test('rollback: refused on a first release; otherwise the changed pods go back to the earlier revision', async () => {
    const first = await manualRelease();
    await until(w.releases, first.ref, 'the gate after group 0', atGate(0));
    await expect(w.releases.rollback(first.ref, { by: 'oncall' })).rejects.toMatchObject({
      code: 'CONFLICT',
      message: 'rollback refused: nothing to roll back to (first release)',
    });
    await w.releases.abort(first.ref, { by: 'oncall' });

    const { ref } = await manualRelease({ revisions: 2 });
    const s = await until(w.releases, ref, 'the gate after group 0', atGate(0));
    const changed = s.groups[0]!.pods;
    expect(await w.releases.rollback(ref, { by: 'oncall', reason: 'bad canary' })).toMatchObject({
      recorded: { action: 'rollback-requested', by: 'oncall' },
    });
    const final = await w.releases.result(ref);
    expect(final.state).toBe('rolled-back');
    expect(w.released.filter((r) => changed.includes(r.pod)).map((r) => r.revision)).toEqual([2, 1]);
    expect(w.released.filter((r) => s.groups[1]!.pods.includes(r.pod))).toEqual([]);
  });

  test('promote-all passes every remaining gate; a manual gate left unapproved past its timeout pauses the release', async () => {
    const { ref } = await manualRelease({ groups: 3, replicas: 3, timeoutSeconds: 600 });
    await until(w.releases, ref, 'the gate after group 0', atGate(0));
    await w.env.sleep('11m'); // time-skipping: past the gate's timeout
    const paused = await until(w.releases, ref, 'paused by the gate timeout', (s) => s.state === 'paused');
    expect(paused.paused?.reason).toMatch(/manual gate after group 0 was not approved within 600s/);
    await w.releases.promoteAll(ref, { by: 'oncall', reason: 'hotfix' });
    const final = await w.releases.result(ref);
    expect(final.state).toBe('succeeded');
    expect(final.gates.map((g) => [g.state, g.decidedBy])).toEqual([
      ['skipped', 'oncall'],
      ['skipped', 'oncall'],
    ]);
  });
});
