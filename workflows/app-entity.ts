import {
  allHandlersFinished,
  condition,
  continueAsNew,
  patched,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { UpdateDefinition } from '@temporalio/common';
import { describeMark, keptMarks, sameContent, type AppSpec, type Revision } from '../domain/index.js';
import { AuditOutbox } from './audit-outbox.js';
import { SA } from './search-attributes.js';
import {
  appQuery,
  driftMemorySignal,
  markRevisionUpdate,
  releaseCompletedSignal,
  upsertAppUpdate,
  type AppRecord,
  type AppSummaryMemo,
  type MarkRevisionResult,
} from './definitions.js';
import { parseMarkRevision, withMark } from './revision-marks.js';

/** Revisions kept per App; older ones are dropped (a rollback can go back this far). */
export const KEEP_REVISIONS = 10;

/** Workflow id of the App entity of (tenant, app). */
export function appEntityId(tenant: string, app: string): string {
  return `app/${tenant}/${app}`;
}

/**
 * One long-lived workflow per App: holds its spec and immutable numbered revisions. `upsert-app` makes a new
 * revision only when template, replicas or overrides changed; placement changes apply to the spec alone.
 */
export async function appEntity(state?: AppRecord): Promise<void> {
  let record = state;
  // the summary rides in the memo, so listing a tenant's Apps reads visibility alone and needs no worker
  const publish = () => {
    if (!record || !patched('app-summary-memo')) return;
    const summary: AppSummaryMemo = { workspace: record.spec.workspace, latest: record.latest, released: record.released };
    upsertMemo({ summary });
    // entities started before these attributes existed get them here, so that they are listed too
    upsertSearchAttributes([
      { key: SA.app, value: record.spec.name },
      { key: SA.tenant, value: record.spec.tenant },
      { key: SA.kind, value: 'app' },
    ]);
  };
  publish();
  setHandler(appQuery, () => record);
  setHandler(
    upsertAppUpdate,
    ({ spec, by }) => {
      const content = {
        template: spec.template,
        replicasPerCell: spec.replicasPerCell,
        overrides: spec.overrides,
        ...(spec.clusterOverrides && Object.keys(spec.clusterOverrides).length ? { clusterOverrides: spec.clusterOverrides } : {}),
        ...(spec.metadataPolicy ? { metadataPolicy: spec.metadataPolicy } : {}),
      };
      const latest = record?.revisions.find((r) => r.number === record?.latest);
      if (record && latest && sameContent(latest, content)) {
        record = { ...record, spec };
        publish();
        return { revision: latest.number, created: false };
      }
      const number = (record?.latest ?? 0) + 1;
      const revision: Revision = { number, ...content, createdAt: new Date().toISOString(), createdBy: by };
      const revisions = [...(record?.revisions ?? []), revision].slice(-KEEP_REVISIONS);
      // the marks of revisions still kept stay; a revision dropped takes its mark with it
      const marks = keptMarks(
        record?.marks,
        revisions.map((r) => r.number),
      );
      record = {
        spec,
        revisions,
        latest: number,
        released: record?.released ?? {},
        // cells a disaster-mode release skipped still owe its revision, whatever is registered since
        ...(record?.owed ? { owed: record.owed } : {}),
        ...(record?.drift ? { drift: record.drift } : {}),
        ...(marks ? { marks } : {}),
      };
      publish();
      return { revision: number, created: true };
    },
    {
      validator: ({ spec }: { spec: AppSpec }) => {
        if (record && (record.spec.tenant !== spec.tenant || record.spec.name !== spec.name))
          throw new Error('an App cannot change its name or tenant');
      },
    },
  );
  // Marks: a new Update (absent from every history before it), so no patch: histories without it replay as they were.
  // Each mark also goes to the durable audit record; the outbox exists from the first mark of this run on.
  let outbox: AuditOutbox | undefined;
  setHandler(
    markRevisionUpdate as UpdateDefinition<MarkRevisionResult, [unknown]>,
    (raw: unknown) => {
      const input = parseMarkRevision(record, raw); // a revision this App keeps, so the record exists
      const marked = withMark(record!, input);
      record = marked.record;
      const { revision, mark } = marked.result;
      outbox ??= new AuditOutbox({ tenant: record.spec.tenant, kind: 'app', app: record.spec.name });
      outbox.add({ at: mark.at, by: mark.by, action: `revision-marked-${mark.verdict}`, detail: describeMark(revision, mark) });
      outbox.start();
      return marked.result;
    },
    { validator: (raw: unknown) => void parseMarkRevision(record, raw) },
  );
  setHandler(releaseCompletedSignal, ({ revision, cells, owed }) => {
    if (!record) return;
    const released = { ...record.released };
    for (const cell of cells) released[cell] = revision;
    // a cell released since a disaster-mode release skipped it owes nothing any more; newly skipped cells do
    const stillOwed = Object.fromEntries(Object.entries(record.owed ?? {}).filter(([cell]) => !cells.includes(cell)));
    for (const o of owed ?? []) stillOwed[o.cell] = o;
    record = { ...record, released, ...(Object.keys(stillOwed).length || record.owed ? { owed: stillOwed } : {}) };
    publish();
  });
  setHandler(driftMemorySignal, (input: unknown) => {
    // sent by drift repair; anything else is ignored, never a failed workflow task
    const memory = (input as { memory?: unknown } | undefined)?.memory;
    if (!record || !memory || typeof memory !== 'object') return;
    const counts = Object.entries(memory).filter(([, n]) => Number.isInteger(n) && (n as number) > 0);
    record = { ...record, drift: Object.fromEntries(counts) as Record<string, number> };
  });
  // An entity lives forever; keep its history short.
  await condition(() => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > 2_000);
  await condition(allHandlersFinished);
  // the marks' audit entries are appended before the next run takes over (its outbox starts afresh)
  await outbox?.flush();
  await continueAsNew<typeof appEntity>(record);
}
