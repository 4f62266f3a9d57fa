import {
  CancellationScope,
  ChildWorkflowFailure,
  condition,
  getExternalWorkflowHandle,
  ParentClosePolicy,
  patched,
  setHandler,
  startChild,
  uuid4,
  workflowInfo,
  allHandlersFinished,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { awaitReleaseClosed, temporalSide } from './activity-proxies.js';
import { appRelease, appReleaseId } from './app-release.js';
import { releaseActions, RELEASE_WORKFLOW_TASK_TIMEOUT } from './definitions.js';
import type { ReleaseStatus } from './release-status.js';
import { SA } from './search-attributes.js';
import { wireTicketActions } from './ticket-actions.js';
import { ticketStatusQuery, type TicketInput, type TicketStatus } from './ticket-definitions.js';
import { TicketTracker } from './ticket-state.js';
import { AuditOutbox } from './audit-outbox.js';

const { prepareRelease } = temporalSide;

/**
 * ReleaseTicket (docs/tickets.md): the apps of one tenant released in dependency order, each as a child App
 * release (the App's one-release rule holds: an app whose release is already in flight waits behind it). An app
 * starts once all it depends on succeeded, at most `maxParallel` at once; a failed or aborted one blocks its
 * dependents while the others go on. Then the ticket waits for an operator (retry, skip, rollback, abort), or,
 * with `onFailure: rollback-released`, rolls back what it changed, last finished first.
 */
export async function releaseTicket(input: TicketInput): Promise<TicketStatus> {
  const t = new TicketTracker(input);
  const { spec } = input;
  const outbox = new AuditOutbox({ tenant: spec.tenant, kind: 'ticket', ticket: input.id });
  t.onRecord = (entry) => outbox.add(entry);
  outbox.start();
  setHandler(ticketStatusQuery, () => t.status());
  wireTicketActions(t);
  t.record(input.requestedBy, 'requested', `${spec.title}: ${spec.entries.map((e) => e.app).join(', ')}`);

  if (spec.approval === 'before-start') {
    t.state = 'awaiting-approval';
    await condition(() => t.approved || !!t.abortRequested || !!t.rollbackRequested);
    t.state = 'running';
  }
  let pausedSeen = false;
  for (;;) {
    if (t.abortRequested || t.rollbackRequested) break;
    if (!!t.paused !== pausedSeen) {
      pausedSeen = !!t.paused;
      await carryToReleases(t, pausedSeen ? 'pause' : 'resume');
    }
    t.settleBlocked();
    if (!t.paused)
      for (const app of t.ready()) {
        if (t.active().length >= spec.maxParallel) break;
        t.set(app, spec.approval === 'per-app' ? 'awaiting-approval' : 'queued');
        void runApp(t, app);
      }
    if (t.allDone()) break;
    if (t.stuck() && spec.onFailure === 'rollback-released' && t.anyFailed()) {
      t.rollbackRequested = { by: 'barista', reason: 'onFailure: rollback-released' };
      break;
    }
    t.state = t.stuck() ? 'blocked' : 'running';
    const seen = t.version;
    await condition(() => t.version !== seen || !!t.abortRequested || !!t.rollbackRequested || !!t.paused !== pausedSeen);
  }

  if (t.abortRequested) await abortTicket(t);
  else if (t.rollbackRequested) await rollBackTicket(t);
  else {
    t.state = 'succeeded';
    t.record('barista', 'finished', `all ${t.apps.size} apps released`);
  }
  t.finishedAt = new Date().toISOString();
  await outbox.flush();
  await condition(allHandlersFinished);
  return t.status();
}

/** Starts the app's release (after its approval, behind a release already in flight) and follows it to its end. */
async function runApp(t: TicketTracker, app: string): Promise<void> {
  const a = t.app(app)!;
  if (a.state === 'awaiting-approval') {
    await condition(() => t.approvedApps.has(app) || !!t.abortRequested || !!t.rollbackRequested);
    t.approvedApps.delete(app);
    if (t.abortRequested || t.rollbackRequested) return t.set(app, 'aborted', { reason: 'the ticket stopped before it started' });
    t.set(app, 'queued');
  }
  const entry = t.entry(app);
  const { spec, id, requestedBy } = t.input;
  const request = {
    app,
    tenant: spec.tenant,
    ...(a.revision ? { revision: a.revision } : {}),
    ...(entry.strategy ? { strategy: entry.strategy } : {}),
    ...(entry.mask ? { mask: entry.mask } : {}),
    ...(entry.mode ? { mode: entry.mode } : {}),
    requestedBy,
    reason: `ticket ${id}: ${spec.title}`,
  };
  const outcome = await followRelease(t, app, request);
  if (t.app(app)!.state !== 'running' && t.app(app)!.state !== 'queued') return; // skipped or aborted meanwhile
  t.set(app, outcome.state, { ...(outcome.reason ? { reason: outcome.reason } : {}), ...outcome.changes });
  t.record('barista', `app-${outcome.state}`, `${app}${outcome.reason ? `: ${outcome.reason}` : ''}`);
}

type Outcome = {
  state: 'succeeded' | 'failed' | 'aborted' | 'rolled-back';
  reason?: string;
  changes: Partial<ReturnType<TicketTracker['status']>['apps'][number]>;
};

/**
 * Starts a child App release for `request` and waits for its end. Another release of the App in flight: waits for
 * it to close, then starts (the same start as the API's: revisions and checks of that moment).
 */
async function followRelease(t: TicketTracker, app: string, request: Record<string, unknown>, rollback = false): Promise<Outcome> {
  const a = t.app(app)!;
  const workflowId = appReleaseId(t.input.spec.tenant, app);
  for (;;) {
    if (stopping(t) && !rollback) return { state: 'aborted', reason: 'the ticket stopped before its release started', changes: {} };
    const prepared = await prepareRelease({ request });
    if ('refused' in prepared) return { state: 'failed', reason: `its release could not start: ${prepared.refused}`, changes: {} };
    try {
      const child = await startChild(appRelease, {
        workflowId,
        args: [{ ...prepared.input, ticket: t.input.id }],
        taskQueue: workflowInfo().taskQueue,
        workflowTaskTimeout: RELEASE_WORKFLOW_TASK_TIMEOUT,
        // the release outlives the ticket: a ticket terminated never leaves a release half-stopped
        parentClosePolicy: ParentClosePolicy.ABANDON,
        workflowIdReusePolicy: 'ALLOW_DUPLICATE',
        memo: { requestedBy: request.requestedBy, startNonce: uuid4(), ticket: t.input.id },
        typedSearchAttributes: [
          { key: SA.app, value: app },
          { key: SA.tenant, value: t.input.spec.tenant },
          { key: SA.kind, value: 'app-release' },
          { key: SA.state, value: 'planning' },
          // patch: a ticket started before BaristaTicket existed starts its releases as it did then
          ...(patched('ticket-search-attribute') ? [{ key: SA.ticket, value: t.input.id }] : []),
        ],
      });
      const release = { workflowId, runId: child.firstExecutionRunId };
      t.set(app, rollback ? 'rolling-back' : 'running', {
        release,
        attempts: a.attempts + (rollback ? 0 : 1),
        startedAt: new Date().toISOString(),
        revision: prepared.input.to.number,
      });
      t.record(
        'barista',
        rollback ? 'app-rollback-started' : 'app-started',
        `${app}: release ${child.firstExecutionRunId} to revision ${prepared.input.to.number}`,
      );
      if (t.paused) await child.signal(releaseActions.pause.signal, { by: t.paused.by, reason: 'the ticket is paused' });
      return outcomeOf(await child.result());
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        t.set(app, 'queued', { reason: `behind the release of ${app} already in flight` });
        // an abort or rollback of the ticket stops the wait: the app's release is then never started
        const scope = new CancellationScope();
        const closed = scope.run(() => awaitReleaseClosed({ workflowId }));
        await Promise.race([closed.catch(() => undefined), condition(() => stopping(t) && !rollback)]);
        scope.cancel();
        continue;
      }
      if (err instanceof ChildWorkflowFailure)
        return { state: 'failed', reason: `its release failed: ${err.cause?.message ?? err.message}`, changes: { releaseState: 'failed' } };
      throw err;
    }
  }
}

function stopping(t: TicketTracker): boolean {
  return !!t.abortRequested || !!t.rollbackRequested;
}

function outcomeOf(status: ReleaseStatus): Outcome {
  const changes = {
    releaseState: status.state as ReleaseStatus['state'] & string,
    ...(status.from !== undefined ? { from: status.from } : {}),
  };
  switch (status.state) {
    case 'succeeded':
    case 'succeeded-with-skips':
      return { state: 'succeeded', changes } as Outcome;
    case 'aborted':
      return { state: 'aborted', reason: 'its release was aborted', changes } as Outcome;
    default:
      return { state: 'failed', reason: `its release ended ${status.state}`, changes } as Outcome;
  }
}

/** Pause or resume carried to every release of the ticket in flight. */
async function carryToReleases(t: TicketTracker, action: 'pause' | 'resume'): Promise<void> {
  const by = t.paused?.by ?? 'barista';
  await Promise.all(
    t
      .active()
      .filter((a) => a.state === 'running' && a.release)
      .map((a) =>
        getExternalWorkflowHandle(a.release!.workflowId, a.release!.runId)
          .signal(releaseActions[action].signal, { by, reason: `the ticket is ${action === 'pause' ? 'paused' : 'resumed'}` })
          .catch(() => undefined),
      ),
  );
}

/** Aborts every release in flight, waits for them to end; apps not started end aborted. */
async function abortTicket(t: TicketTracker): Promise<void> {
  const { by, reason } = t.abortRequested!;
  for (const a of [...t.apps.values()])
    if (['waiting', 'blocked', 'awaiting-approval'].includes(a.state))
      t.set(a.app, 'aborted', { reason: 'the ticket was aborted before it started' });
  await Promise.all(
    t.active().flatMap((a) =>
      a.release && a.state === 'running'
        ? [
            getExternalWorkflowHandle(a.release.workflowId, a.release.runId)
              .signal(releaseActions.abort.signal, { by, reason: reason ?? 'ticket aborted' })
              .catch(() => undefined),
          ]
        : [],
    ),
  );
  await condition(() => t.active().length === 0);
  t.state = 'aborted';
  t.record(by, 'finished', `aborted${reason ? `: ${reason}` : ''}`);
}

/**
 * Saga rollback: releases in flight are rolled back by their own rollback; then each app the ticket changed goes
 * back to the revision it had, last finished first, each through its own per-pod protocol. The last entry lists what
 * was undone, in order (an app whose own release rolled back first), and what could not be.
 */
async function rollBackTicket(t: TicketTracker): Promise<void> {
  const { by, reason } = t.rollbackRequested!;
  t.state = 'rolling-back';
  t.record(by, 'rollback-started', reason);
  for (const a of [...t.apps.values()])
    if (['waiting', 'blocked', 'awaiting-approval'].includes(a.state))
      t.set(a.app, 'aborted', { reason: 'the ticket was rolled back before it started' });
  await Promise.all(
    t.active().flatMap((a) =>
      a.release && a.state === 'running'
        ? [
            getExternalWorkflowHandle(a.release.workflowId, a.release.runId)
              .signal(releaseActions.rollback.signal, { by, reason: 'ticket rolled back' })
              .catch(() => undefined),
          ]
        : [],
    ),
  );
  await condition(() => t.active().length === 0);
  const changed = [...t.apps.values()]
    .filter((a) => a.state === 'succeeded' && a.from !== undefined)
    .sort((x, y) => (y.finishedAt ?? '').localeCompare(x.finishedAt ?? ''));
  // apps whose own release already put back what it changed (its onFailure: rollback, or the rollback signalled
  // above) come first in the list: they were undone before the others
  const undone = [...t.apps.values()]
    .filter((a) => a.state === 'failed' && a.releaseState === 'rolled-back')
    .sort((x, y) => (x.finishedAt ?? '').localeCompare(y.finishedAt ?? ''))
    .map((a) => `${a.app} (by its own release)`);
  const notUndone: string[] = [];
  for (const a of changed) {
    const entry = t.entry(a.app);
    const request = {
      app: a.app,
      tenant: t.input.spec.tenant,
      revision: a.from,
      ...(entry.strategy ? { strategy: entry.strategy } : {}),
      ...(entry.mask ? { mask: entry.mask } : {}),
      requestedBy: by,
      reason: `rollback of ticket ${t.input.id}${reason ? `: ${reason}` : ''}`,
    };
    const outcome = await followRelease(t, a.app, request, true);
    if (outcome.state === 'succeeded') {
      t.set(a.app, 'rolled-back', { reason: `back at revision ${a.from}` });
      undone.push(`${a.app} → ${a.from}`);
    } else {
      t.set(a.app, 'succeeded', { reason: `rollback did not finish: ${outcome.reason ?? outcome.state}` });
      notUndone.push(`${a.app} (${outcome.reason ?? outcome.state})`);
    }
  }
  t.state = 'rolled-back';
  t.record(
    'barista',
    'finished',
    `rolled back: ${undone.join(', ') || 'nothing'}${notUndone.length ? `; not undone: ${notUndone.join(', ')}` : ''}`,
  );
}
