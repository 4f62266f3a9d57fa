import { randomUUID } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { DomainError, plainTargetIssue, type FieldIssue } from '../domain/index.js';
import { parseTicketSpec, unknownAppIssues } from '../domain/ticket.js';
import { ensureCheckQueriesParse } from './check-queries.js';
import { SA } from '../workflows/search-attributes.js';
import {
  ticketActions,
  ticketStatusQuery,
  ticketWorkflowId,
  type TicketAction,
  type TicketActionInputs,
  type TicketActionResult,
  type TicketInput,
  type TicketStatus,
} from '../workflows/ticket-definitions.js';
import { visibilityQuery, type ReleaseClient } from './release-client.js';
import { ensureWorkerPolls } from './worker-pollers.js';

/** How long an action may wait for the ticket workflow to accept or refuse it. */
const ACTION_DEADLINE_MS = 20_000;

export interface TicketSummary {
  id: string;
  title: string;
  state: string;
  status: string;
  startTime: string;
  closeTime?: string;
  requestedBy: string;
}

/**
 * Release tickets (docs/tickets.md): create one (validated, every app looked up, nothing started when anything is
 * wrong), read its status, list a tenant's, and take operator actions through its Updates.
 */
export class TicketClient {
  private readonly client: Client;
  private readonly taskQueue: string;

  constructor(private readonly releases: ReleaseClient) {
    this.client = releases.client;
    this.taskQueue = releases.taskQueue;
  }

  /**
   * Starts a ticket. Refused with the field named: a bad spec (cycle, app twice, dependency not in the ticket, ...),
   * an app the tenant does not have, a revision the app does not have. An id already used: CONFLICT.
   */
  async create(
    input: unknown,
    requestedBy: string,
    opts: { id?: string } = {},
  ): Promise<{ id: string; workflowId: string; runId: string }> {
    const spec = parseTicketSpec(input);
    const records = await Promise.all(spec.entries.map((e) => this.releases.getApp(spec.tenant, e.app)));
    const issues: FieldIssue[] = unknownAppIssues(
      spec.entries,
      (app) => records[spec.entries.findIndex((e) => e.app === app)] !== undefined,
      spec.tenant,
    );
    spec.entries.forEach((e, i) => {
      const record = records[i];
      if (record && e.revision !== undefined && !record.revisions.some((r) => r.number === e.revision))
        issues.push({
          field: `entries[${i}].revision`,
          message: `app ${e.app} has no revision ${e.revision}; kept revisions: ${record.revisions.map((r) => r.number).join(', ')}`,
        });
      // an entry without a revision takes the App's latest, which must not be marked bad (an explicit one may be)
      const bad =
        record && e.revision === undefined
          ? plainTargetIssue({
              app: `${spec.tenant}/${e.app}`,
              marks: record.marks,
              target: record.latest,
              kept: record.revisions.map((r) => r.number),
              field: `entries[${i}].revision`,
            })
          : undefined;
      if (bad) issues.push(bad);
    });
    if (issues.length) throw DomainError.invalid(issues);
    for (const [i, e] of spec.entries.entries())
      await ensureCheckQueriesParse(e.strategy, this.releases.options.prometheus, `entries[${i}].strategy`);
    const id = opts.id ?? randomUUID();
    const workflowId = ticketWorkflowId(spec.tenant, id);
    const args: [TicketInput] = [{ id, spec, requestedBy }];
    try {
      const handle = await this.client.workflow.start('releaseTicket', {
        workflowId,
        taskQueue: this.taskQueue,
        args,
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        memo: { requestedBy, title: spec.title },
        typedSearchAttributes: [
          { key: SA.tenant, value: spec.tenant },
          { key: SA.kind, value: 'ticket' },
          { key: SA.state, value: spec.approval === 'before-start' ? 'awaiting-approval' : 'running' },
        ],
      });
      return { id, workflowId, runId: handle.firstExecutionRunId };
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError)
        throw new DomainError('CONFLICT', `ticket ${id} of tenant ${spec.tenant} exists already`, [
          { field: 'id', message: 'already used' },
        ]);
      throw err;
    }
  }

  async status(tenant: string, id: string): Promise<TicketStatus> {
    await ensureWorkerPolls(this.client, this.taskQueue); // a query with no worker would wait half a minute (503 now)
    try {
      return await this.client.workflow.getHandle(ticketWorkflowId(tenant, id)).query(ticketStatusQuery);
    } catch (err) {
      if ((err as Error).name === 'WorkflowNotFoundError')
        throw new DomainError('NOT_FOUND', `ticket ${id} of tenant ${tenant} does not exist`);
      throw err;
    }
  }

  /** The ticket's final status once it ended. */
  async result(tenant: string, id: string): Promise<TicketStatus> {
    return (await this.client.workflow.getHandle(ticketWorkflowId(tenant, id)).result()) as TicketStatus;
  }

  async list(tenant: string, limit = 50): Promise<TicketSummary[]> {
    const query = visibilityQuery({ BaristaKind: 'ticket', BaristaTenant: tenant });
    const result: TicketSummary[] = [];
    for await (const wf of this.client.workflow.list({ query })) {
      result.push({
        id: wf.workflowId.split('/').slice(2).join('/'),
        title: String(wf.memo?.title ?? ''),
        state: wf.typedSearchAttributes.get(SA.state) ?? wf.status.name.toLowerCase(),
        status: wf.status.name,
        startTime: wf.startTime.toISOString(),
        ...(wf.closeTime ? { closeTime: wf.closeTime.toISOString() } : {}),
        requestedBy: String(wf.memo?.requestedBy ?? ''),
      });
      if (result.length >= limit) break;
    }
    return result;
  }

  /** An operator action through the ticket's Update; refused ones are CONFLICT (or INVALID_INPUT) with the reason. */
  async act<A extends TicketAction>(tenant: string, id: string, action: A, input: TicketActionInputs[A]): Promise<TicketActionResult> {
    const handle = this.client.workflow.getHandle(ticketWorkflowId(tenant, id));
    await ensureWorkerPolls(this.client, this.taskQueue); // an Update with no worker would wait, then arrive late
    try {
      return await this.client.withDeadline(Date.now() + ACTION_DEADLINE_MS, () =>
        handle.executeUpdate(ticketActions[action] as (typeof ticketActions)['abort'], { args: [input as TicketActionInputs['abort']] }),
      );
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) {
        const reason = err.cause.message;
        if (reason.startsWith('invalid input')) throw new DomainError('INVALID_INPUT', `${action} refused: ${reason}`);
        throw new DomainError('CONFLICT', `${action} refused: ${reason}`, [], { action, reason });
      }
      if ((err as Error).name === 'WorkflowNotFoundError') {
        const closed = await handle.describe().then(
          (d) => d.status.name,
          () => undefined,
        );
        if (closed) throw new DomainError('CONFLICT', `${action} refused: the ticket has ended (${closed.toLowerCase()})`);
        throw new DomainError('NOT_FOUND', `ticket ${id} of tenant ${tenant} does not exist`);
      }
      throw err;
    }
  }
}
