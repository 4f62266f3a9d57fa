import { upsertSearchAttributes } from '@temporalio/workflow';
import { ticketLevels, type TicketEntry } from '../domain/ticket.js';
import { SA } from './search-attributes.js';
import type { AuditEntry } from './release-status.js';
import type { TicketAppState, TicketAppStatus, TicketInput, TicketState, TicketStatus } from './ticket-definitions.js';

/** States an app does not leave by itself: only an operator (retry, skip, rollback) moves it on. */
const SETTLED: readonly TicketAppState[] = ['succeeded', 'failed', 'aborted', 'skipped', 'rolled-back'];
/** States whose dependents may start. */
const DONE: readonly TicketAppState[] = ['succeeded', 'skipped'];
/** States that stop dependents. */
const STOPPING: readonly TicketAppState[] = ['failed', 'aborted', 'blocked', 'rolled-back'];
/** States in which an app's release is in flight (or about to be). */
const ACTIVE: readonly TicketAppState[] = ['awaiting-approval', 'queued', 'running', 'rolling-back'];

/** Audit entries kept in the ticket's status (the durable record is the audit store). */
const MAX_AUDIT = 500;

/**
 * The ticket's state as the workflow keeps it: each app's state, the audit trail, and a version that changes with
 * every change, so that the workflow's loop wakes on any of them (`condition(() => t.version !== seen)`).
 */
export class TicketTracker {
  private current: TicketState = 'running';
  version = 0;
  approved = false;
  approvedApps = new Set<string>();
  paused: TicketStatus['paused'];
  abortRequested: { by: string; reason?: string } | undefined;
  rollbackRequested: { by: string; reason?: string } | undefined;
  finishedAt: string | undefined;
  /** Called with every entry recorded (the durable audit record's outbox). */
  onRecord: ((entry: AuditEntry) => void) | undefined;
  readonly apps = new Map<string, TicketAppStatus>();
  private readonly audit: AuditEntry[] = [];
  private readonly createdAt = new Date().toISOString();

  /** The ticket's state; each change is also its BaristaState search attribute (listings filter on it). */
  get state(): TicketState {
    return this.current;
  }

  set state(next: TicketState) {
    if (next === this.current) return;
    this.current = next;
    upsertSearchAttributes([{ key: SA.state, value: next }]);
    this.touch();
  }

  constructor(readonly input: TicketInput) {
    const levels = ticketLevels(input.spec.entries);
    for (const entry of input.spec.entries)
      this.apps.set(entry.app, {
        app: entry.app,
        dependsOn: entry.dependsOn,
        level: levels.findIndex((l) => l.includes(entry.app)),
        state: 'waiting',
        ...(entry.revision ? { revision: entry.revision } : {}),
        attempts: 0,
      });
  }

  entry(app: string): TicketEntry {
    return this.input.spec.entries.find((e) => e.app === app)!;
  }

  app(app: string): TicketAppStatus | undefined {
    return this.apps.get(app);
  }

  record(by: string, action: string, detail?: string): AuditEntry {
    const entry = { at: new Date().toISOString(), by, action, ...(detail ? { detail } : {}) };
    this.audit.push(entry);
    this.onRecord?.(entry);
    if (this.audit.length > MAX_AUDIT) this.audit.splice(1, this.audit.length - MAX_AUDIT);
    this.touch();
    return entry;
  }

  touch(): void {
    this.version++;
  }

  set(app: string, state: TicketAppState, changes: Partial<TicketAppStatus> = {}): void {
    const a = this.apps.get(app)!;
    const reason = changes.reason;
    Object.assign(a, changes, { state });
    if (reason === undefined) delete a.reason;
    if (SETTLED.includes(state)) a.finishedAt = new Date().toISOString();
    this.touch();
  }

  /** Apps waiting whose every dependency is done, in ticket order. */
  ready(): string[] {
    return [...this.apps.values()]
      .filter((a) => a.state === 'waiting' && a.dependsOn.every((d) => DONE.includes(this.apps.get(d)!.state)))
      .map((a) => a.app);
  }

  active(): TicketAppStatus[] {
    return [...this.apps.values()].filter((a) => ACTIVE.includes(a.state));
  }

  /** Blocks waiting apps behind a failed, aborted or blocked dependency; unblocks them once it is retried or skipped. */
  settleBlocked(): void {
    let changed = true;
    while (changed) {
      changed = false;
      for (const a of this.apps.values()) {
        const stopper = a.dependsOn.find((d) => STOPPING.includes(this.apps.get(d)!.state));
        if (a.state === 'waiting' && stopper) {
          this.set(a.app, 'blocked', { reason: `${stopper} ${this.apps.get(stopper)!.state}` });
          changed = true;
        } else if (a.state === 'blocked' && !stopper) {
          this.set(a.app, 'waiting');
          changed = true;
        }
      }
    }
  }

  allDone(): boolean {
    return [...this.apps.values()].every((a) => DONE.includes(a.state));
  }

  /** Nothing runs and nothing can start: an app failed or is blocked, and only an operator can move it on. */
  stuck(): boolean {
    return this.active().length === 0 && this.ready().length === 0 && !this.allDone();
  }

  anyFailed(): boolean {
    return [...this.apps.values()].some((a) => a.state === 'failed' || a.state === 'aborted');
  }

  status(): TicketStatus {
    const { spec, id, requestedBy } = this.input;
    return {
      id,
      tenant: spec.tenant,
      title: spec.title,
      ...(spec.reason ? { reason: spec.reason } : {}),
      requestedBy,
      state: this.state,
      approval: spec.approval,
      onFailure: spec.onFailure,
      maxParallel: spec.maxParallel,
      ...(this.paused ? { paused: this.paused } : {}),
      levels: ticketLevels(spec.entries),
      apps: [...this.apps.values()].map((a) => ({ ...a })),
      audit: [...this.audit],
      createdAt: this.createdAt,
      ...(this.finishedAt ? { finishedAt: this.finishedAt } : {}),
    };
  }
}
