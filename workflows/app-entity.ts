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
import { sameContent, type AppSpec, type Revision } from '../domain/index.js';
import { SA } from './search-attributes.js';
import {
  appQuery,
  driftMemorySignal,
  releaseCompletedSignal,
  upsertAppUpdate,
  type AppRecord,
  type AppSummaryMemo,
} from './definitions.js';

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
      record = {
        spec,
        revisions: [...(record?.revisions ?? []), revision].slice(-KEEP_REVISIONS),
        latest: number,
        released: record?.released ?? {},
        // cells a disaster-mode release skipped still owe its revision, whatever is registered since
        ...(record?.owed ? { owed: record.owed } : {}),
        ...(record?.drift ? { drift: record.drift } : {}),
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
  await continueAsNew<typeof appEntity>(record);
}
