import { ApplicationFailure, setHandler } from '@temporalio/workflow';
import { claimedActor, parseActionInput } from './action-inputs.js';
import {
  ActionFailureTypes,
  RELEASE_ACTIONS,
  releaseActions,
  statusQuery,
  type ActionInputs,
  type ActionResult,
  type ReleaseAction,
} from './definitions.js';
import type { ReleaseTracker } from './release-state.js';
import type { AuditEntry, StatusView } from './release-status.js';

/**
 * One operator action: why the release cannot take it now (undefined when it can), and taking it. `refusal`
 * only reads; `apply` changes the tracker and records who did what. Both are shared by the Update (whose
 * validator calls `refusal`) and the signal (which records a refusal as `<action>-rejected`): one copy each.
 */
interface ActionRule<I> {
  refusal(t: ReleaseTracker, input: I): string | undefined;
  apply(t: ReleaseTracker, input: I): AuditEntry;
}

const rules: { [A in ReleaseAction]: ActionRule<ActionInputs[A]> } = {
  approve: {
    refusal(t, a) {
      const group = a.group ?? t.currentGroup;
      if (group === undefined) return 'no gate to approve yet: name the group';
      const earlier = t.approvals.get(group);
      if (earlier) return `group ${group} already approved by ${earlier.by}`;
      if (t.stopRequested) return stopping(t);
      // an approval naming its group may arrive before the plan exists; then it waits for that gate
      if (!t.plan) return undefined;
      const gate = t.gate(group);
      if (!gate)
        return `no gate for group ${group} (${t.gates.length ? `gates follow groups ${t.gates.map((g) => g.group).join(', ')}` : 'this release has no gates'})`;
      if (gate.state === 'passed' || gate.state === 'skipped')
        return `the gate after group ${group} already ${gate.state}${gate.decidedBy ? ` (${gate.decidedBy})` : ''}`;
      return undefined;
    },
    apply(t, a) {
      const group = (a.group ?? t.currentGroup)!;
      t.approvals.set(group, { ...a, at: new Date().toISOString() });
      return recorded(t, a.by, 'approved', `group ${group}${a.reason ? `: ${a.reason}` : ''}`);
    },
  },
  pause: {
    // pausing a release that is already paused (by barista, say) puts the operator's reason in its place
    refusal: () => undefined,
    apply(t, a) {
      t.pause({ reason: a.reason ?? 'paused by operator', by: a.by });
      return recorded(t, a.by, 'paused', a.reason);
    },
  },
  resume: {
    refusal: (t) => (t.paused ? undefined : `not paused (state ${t.state})`),
    apply(t, a) {
      t.resume();
      return recorded(t, a.by, 'resumed', a.reason);
    },
  },
  abort: {
    refusal: (t) => (t.abortRequested ? `abort already requested by ${t.abortRequested.by}` : undefined),
    apply(t, a) {
      t.abortRequested = a;
      return recorded(t, a.by, 'abort-requested', a.reason);
    },
  },
  rollback: {
    refusal(t) {
      if (t.from === undefined) return 'nothing to roll back to (first release)';
      if (t.rollbackRequested) return `rollback already requested by ${t.rollbackRequested.by}`;
      // after an abort a rollback is still taken, as it always was (in-flight releases replay the same), and it
      // ends aborted: the abort stops the pods of the rollback from moving
      return undefined;
    },
    apply(t, a) {
      t.rollbackRequested = a;
      return recorded(t, a.by, 'rollback-requested', a.reason);
    },
  },
  'promote-all': {
    refusal(t) {
      if (t.promoteAll) return `promote-all already given by ${t.promoteAll.by}`;
      if (t.stopRequested) return stopping(t);
      if (t.plan && !t.gates.some((g) => g.state !== 'passed' && g.state !== 'skipped')) return 'no gate left to pass';
      return undefined;
    },
    apply(t, a) {
      t.promoteAll = a;
      return recorded(t, a.by, 'promote-all', a.reason);
    },
  },
  'bypass-window': {
    refusal: (t) => (t.window ? undefined : `not waiting for a change window (state ${t.state})`),
    apply(t, a) {
      t.bypassedWindows.set(t.window!.name, a);
      return recorded(t, a.by, 'window-bypassed', `'${t.window!.name}': ${a.reason}`);
    },
  },
  'skip-pod': {
    refusal(t, a) {
      const pod = t.pods.get(a.pod);
      if (!pod) return `pod ${a.pod} is not in this release`;
      if (t.skipped.has(a.pod)) return `pod ${a.pod} is already skipped`;
      if (pod.state === 'done') return `pod ${a.pod} is already released`;
      return undefined;
    },
    apply(t, a) {
      t.skipped.add(a.pod);
      return recorded(t, a.by, 'skip-pod', `${a.pod}${a.reason ? `: ${a.reason}` : ''}`);
    },
  },
};

/**
 * Sets the status query and, for each operator action, its Update (validated: a bad or refused action is
 * rejected with the reason before anything is recorded) and its signal (compatibility: any input is
 * accepted, and a bad or refused one is recorded as `<action>-rejected` and changes nothing). No input
 * can make a workflow task fail.
 */
export function wireOperatorActions(t: ReleaseTracker): void {
  setHandler(statusQuery, (view?: StatusView) => t.status(view && typeof view === 'object' ? view : {}));
  for (const action of RELEASE_ACTIONS) wireAction(t, action);
}

function wireAction<A extends ReleaseAction>(t: ReleaseTracker, action: A): void {
  const { signal, update } = releaseActions[action] as (typeof releaseActions)[ReleaseAction];
  setHandler(signal, (raw: unknown) => {
    const decision = decide(t, action, raw);
    if (!decision.ok) return t.record(claimedActor(raw), `${action}-rejected`, decision.reason);
    take(t, action, decision.input);
  });
  setHandler(
    update,
    (raw: unknown): ActionResult => {
      // the validator ran in this same activation, so nothing changed since: this is a guard, not a path
      const decision = decide(t, action, raw);
      if (!decision.ok) throw ApplicationFailure.nonRetryable(decision.reason, decision.type);
      return take(t, action, decision.input);
    },
    {
      validator: (raw: unknown) => {
        const decision = decide(t, action, raw);
        if (!decision.ok) throw ApplicationFailure.nonRetryable(decision.reason, decision.type);
      },
    },
  );
}

type Decision<I> =
  { ok: true; input: I } | { ok: false; type: (typeof ActionFailureTypes)[keyof typeof ActionFailureTypes]; reason: string };

/** Whether `raw` is a valid `action` the release can take now. Reads only; never throws. */
function decide<A extends ReleaseAction>(t: ReleaseTracker, action: A, raw: unknown): Decision<ActionInputs[A]> {
  try {
    const parsed = parseActionInput(action, raw);
    if (!parsed.ok) return { ok: false, type: ActionFailureTypes.invalidInput, reason: parsed.reason };
    const rule = rules[action] as ActionRule<ActionInputs[A]>;
    const reason = t.isFinished() ? 'release already finished' : rule.refusal(t, parsed.input);
    return reason ? { ok: false, type: ActionFailureTypes.refused, reason } : { ok: true, input: parsed.input };
  } catch (err) {
    return { ok: false, type: ActionFailureTypes.refused, reason: `could not check the action: ${String(err)}` };
  }
}

function take<A extends ReleaseAction>(t: ReleaseTracker, action: A, input: ActionInputs[A]): ActionResult {
  const rule = rules[action] as ActionRule<ActionInputs[A]>;
  return { action, recorded: rule.apply(t, input), state: t.state };
}

/** Records an audit entry and hands it back (the Update's answer says what was recorded). */
function recorded(t: ReleaseTracker, by: string, action: string, detail?: string): AuditEntry {
  t.record(by, action, detail);
  return t.audit[t.audit.length - 1]!;
}

function stopping(t: ReleaseTracker): string {
  if (t.rollbackRequested) return `release is rolling back (requested by ${t.rollbackRequested.by})`;
  return `release is being aborted (requested by ${t.abortRequested?.by ?? 'unknown'})`;
}
