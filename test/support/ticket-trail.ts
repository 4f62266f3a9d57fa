import type { AuditStore, StoredAuditEvent } from '../../activities/audit-store.js';
import type { AuditEvent } from '../../domain/audit-chain.js';
import type { ReleaseClient, ReleaseSummary } from '../../api/release-client.js';
import type { AuditEntry } from '../../workflows/release-status.js';
import type { TicketStatus } from '../../workflows/ticket-definitions.js';
import { eventually } from './sandbox.js';

/** Every entry of a ticket (its own and its releases') in the audit store, oldest first, all pages. */
export async function storedTicketTrail(store: AuditStore, tenant: string, ticket: string): Promise<StoredAuditEvent[]> {
  const events: StoredAuditEvent[] = [];
  let after: number | undefined;
  for (;;) {
    const page = await store.query({ tenant, ticket, limit: 1000, ...(after !== undefined ? { after } : {}) });
    events.push(...page.events);
    if (page.next === undefined || page.events.length === 0) return events;
    after = page.next;
  }
}

/** The releases a ticket started, from Temporal's visibility (search attribute BaristaTicket), once `runs` are all listed. */
export async function ticketReleases(releases: ReleaseClient, ticket: TicketStatus, runs: Set<string>): Promise<ReleaseSummary[]> {
  return eventually(
    `the releases of ticket ${ticket.id} listed by ticket`,
    async () => {
      const listed = await releases.listReleases(ticket.tenant, { ticket: ticket.id, limit: 500 });
      return listed.length >= runs.size && [...runs].every((r) => listed.some((l) => l.runId === r)) ? listed : undefined;
    },
    60_000,
  );
}

const fromStore = (events: AuditEvent[]) => events.map((e) => [e.actor, e.action, e.detail]);
const fromWorkflow = (entries: AuditEntry[]) => entries.map((e) => [e.by, e.action, e.detail]);

/**
 * A ended ticket's durable record against its workflows' own trails: every entry the ticket and each of the
 * releases it started recorded is in the store exactly once (no id twice, none missing, none extra), in the order
 * recorded, and the tenant's hash chain holds. Returns the stored entries.
 */
export async function expectCompleteTicketTrail(
  store: AuditStore,
  releases: ReleaseClient,
  ticket: TicketStatus,
): Promise<StoredAuditEvent[]> {
  const stored = await storedTicketTrail(store, ticket.tenant, ticket.id);
  expect(new Set(stored.map((e) => e.id)).size).toBe(stored.length);
  expect(fromStore(stored.filter((e) => e.kind === 'ticket'))).toEqual(fromWorkflow(ticket.audit));
  const runs = new Set(ticket.apps.flatMap((a) => (a.release ? [a.release.runId] : [])));
  const listed = await ticketReleases(releases, ticket, runs);
  // every release the ticket started (listed by its search attribute) stored its whole trail, and no other did
  expect(new Set(stored.filter((e) => e.kind === 'release').map((e) => e.runId))).toEqual(new Set(listed.map((r) => r.runId)));
  for (const run of listed) {
    const status = await releases.status(run);
    expect(fromStore(stored.filter((e) => e.runId === run.runId))).toEqual(fromWorkflow(status.audit));
  }
  expect(await store.verify(ticket.tenant)).toMatchObject({ ok: true });
  return stored;
}
