import { WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { DomainError, type FieldIssue, type RevisionMark, type RevisionVerdict } from '../domain/index.js';
import { appEntityId } from '../workflows/app-entity.js';
import { MarkFailureTypes, markRevisionUpdate, type AppRecord, type MarkRevisionResult } from '../workflows/definitions.js';
import type { ReleaseClient } from './release-client.js';

/** How long a mark waits for the App entity's worker to accept or refuse it. */
const MARK_DEADLINE_MS = 30_000;

/** One kept revision as the history shows it. */
export interface RevisionHistoryEntry {
  revision: number;
  /** The App's latest revision: what a release without a revision targets. */
  latest: boolean;
  createdAt: string;
  createdBy: string;
  /** Image of each container, by container name. */
  images: Record<string, string>;
  /** Cells whose last successful release was this revision: they run it now. */
  cells: string[];
  mark?: RevisionMark;
}

/** An App's kept revisions, newest first. */
export interface RevisionHistory {
  tenant: string;
  app: string;
  latest: number;
  revisions: RevisionHistoryEntry[];
  /** Cells that run a revision no longer kept (released before the last few registrations), by cell. */
  olderRevisions: Record<string, number>;
}

/** A mark recorded on the App entity: the mark, and the one it replaced. */
export interface MarkAnswer extends MarkRevisionResult {
  tenant: string;
  app: string;
}

/** The history of an App's revisions and their marks (docs/releases.md, "Revisions"), read and written on its entity. */
export class RevisionClient {
  constructor(private readonly releases: ReleaseClient) {}

  async history(tenant: string, app: string): Promise<RevisionHistory> {
    const record = await this.releases.getApp(tenant, app);
    if (!record) throw notRegistered(tenant, app);
    return revisionHistory(record);
  }

  /**
   * Marks a kept revision bad or good through the App entity's `mark-revision` Update. Its validator refuses a
   * revision not kept (NOT_FOUND naming it) and bad input (INVALID_INPUT naming the field); nothing is recorded then.
   */
  async mark(
    tenant: string,
    app: string,
    input: { revision: number; verdict: RevisionVerdict; reason: string; by: string },
  ): Promise<MarkAnswer> {
    const handle = this.releases.client.workflow.getHandle(appEntityId(tenant, app));
    try {
      const result = await this.releases.client.withDeadline(Date.now() + MARK_DEADLINE_MS, () =>
        handle.executeUpdate(markRevisionUpdate, { args: [input] }),
      );
      return { tenant, app, ...result };
    } catch (err) {
      throw markError(tenant, app, input.revision, err);
    }
  }
}

/** The history of an App record: its kept revisions newest first, with who made each, its images, cells and mark. */
export function revisionHistory(record: AppRecord): RevisionHistory {
  const kept = new Set(record.revisions.map((r) => r.number));
  const cellsAt = (n: number) =>
    Object.entries(record.released)
      .filter(([, at]) => at === n)
      .map(([cell]) => cell)
      .sort();
  return {
    tenant: record.spec.tenant,
    app: record.spec.name,
    latest: record.latest,
    revisions: [...record.revisions]
      .sort((a, b) => b.number - a.number)
      .map((r) => {
        const mark = record.marks?.[String(r.number)];
        return {
          revision: r.number,
          latest: r.number === record.latest,
          createdAt: r.createdAt,
          createdBy: r.createdBy,
          images: Object.fromEntries(r.template.containers.map((c) => [c.name, c.image])),
          cells: cellsAt(r.number),
          ...(mark ? { mark } : {}),
        };
      }),
    olderRevisions: Object.fromEntries(Object.entries(record.released).filter(([, n]) => !kept.has(n))),
  };
}

function notRegistered(tenant: string, app: string): DomainError {
  return new DomainError('NOT_FOUND', `app ${tenant}/${app} is not registered`, [{ field: 'app', message: 'unknown app' }]);
}

/** A refusal of the entity's validator, or a missing entity, as a DomainError; anything else as it is. */
function markError(tenant: string, app: string, revision: number, err: unknown): unknown {
  if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) {
    const failure = err.cause;
    if (failure.type === MarkFailureTypes.unknownRevision)
      return new DomainError('NOT_FOUND', failure.message, [{ field: 'revision', message: failure.message }], { revision });
    if (failure.type === MarkFailureTypes.invalidInput) {
      const issues = failure.details?.[0] as FieldIssue[] | undefined;
      return Array.isArray(issues) && issues.length ? DomainError.invalid(issues) : new DomainError('INVALID_INPUT', failure.message);
    }
  }
  if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError)
    return new Error(`the mark was not answered within ${MARK_DEADLINE_MS / 1000}s: is a Barista worker running?`, { cause: err });
  // the entity exists from an App's first registration on, and never ends
  if ((err as Error).name === 'WorkflowNotFoundError') return notRegistered(tenant, app);
  return err;
}
