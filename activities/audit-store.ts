import pg from 'pg';
import { chainHash, GENESIS_HASH, type AuditEvent } from '../domain/audit-chain.js';
import { auditStats, type AuditStats, type ReleaseAuditEntry } from '../domain/audit-stats.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS audit_events (
  seq         bigserial PRIMARY KEY,
  event_id    text NOT NULL UNIQUE,
  tenant      text NOT NULL,
  at          timestamptz NOT NULL,
  kind        text NOT NULL,
  workflow_id text NOT NULL,
  run_id      text NOT NULL,
  app         text,
  ticket      text,
  actor       text NOT NULL,
  action      text NOT NULL,
  detail      text,
  prev_hash   text NOT NULL,
  hash        text NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_events_tenant_seq ON audit_events (tenant, seq);
CREATE INDEX IF NOT EXISTS audit_events_tenant_app ON audit_events (tenant, app, seq);
CREATE INDEX IF NOT EXISTS audit_events_tenant_ticket ON audit_events (tenant, ticket, seq);
CREATE INDEX IF NOT EXISTS audit_events_tenant_run ON audit_events (tenant, workflow_id, run_id, seq);
`;

export interface AuditQuery {
  tenant: string;
  app?: string;
  ticket?: string;
  actor?: string;
  action?: string;
  since?: string;
  until?: string;
  /** Page after this sequence number (the `next` of the page before). */
  after?: number;
  limit?: number;
}

/** The releases requested in [since, until) (all of them without), of one app or all. */
export interface AuditStatsQuery {
  tenant: string;
  app?: string;
  since?: string;
  until?: string;
}

/** The actions the statistics read (domain/audit-stats.ts); the others are not fetched. */
const STATS_ACTIONS = [
  'requested',
  'finished',
  'paused',
  'resumed',
  'pod-failed',
  'step-failed',
  'gate-failed',
  'skip-pod',
  'approved',
  'promote-all',
  'abort-requested',
  'rollback-requested',
  'rollback-started',
];

export interface StoredAuditEvent extends AuditEvent {
  seq: number;
  hash: string;
}

export interface AuditVerification {
  tenant: string;
  ok: boolean;
  checked: number;
  /** The first entry whose hash does not follow from the one before it: edited, or an entry before it deleted. */
  broken?: { seq: number; id: string; reason: string };
}

type Row = {
  seq: string;
  event_id: string;
  tenant: string;
  at: Date;
  kind: 'release' | 'ticket' | 'drift' | 'app' | 'notification';
  workflow_id: string;
  run_id: string;
  app: string | null;
  ticket: string | null;
  actor: string;
  action: string;
  detail: string | null;
  prev_hash: string;
  hash: string;
};

/**
 * The durable audit record in PostgreSQL: append-only, one hash chain per tenant, each entry stored exactly once
 * (its id is unique: appending it again changes nothing). It outlives Temporal's retention of the workflows that
 * wrote it.
 */
export class AuditStore {
  private constructor(private readonly pool: pg.Pool) {}

  static async open(url: string): Promise<AuditStore> {
    const pool = new pg.Pool({ connectionString: url, max: 4, connectionTimeoutMillis: 5_000 });
    // an idle client that loses its server (PostgreSQL restarted) is dropped, not thrown at the process
    pool.on('error', () => undefined);
    const store = new AuditStore(pool);
    await store.pool.query(SCHEMA);
    return store;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  /**
   * Appends entries in order, chaining each to its tenant's last one. One transaction per tenant, holding that
   * tenant's advisory lock, so concurrent writers never fork a chain. Returns how many were new.
   */
  async append(events: AuditEvent[]): Promise<{ inserted: number }> {
    let inserted = 0;
    const byTenant = new Map<string, AuditEvent[]>();
    for (const e of events) byTenant.set(e.tenant, [...(byTenant.get(e.tenant) ?? []), e]);
    for (const [tenant, list] of byTenant) {
      const client = await this.pool.connect();
      try {
        await client.query('BEGIN');
        await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [tenant]);
        const last = await client.query<{ hash: string }>('SELECT hash FROM audit_events WHERE tenant = $1 ORDER BY seq DESC LIMIT 1', [
          tenant,
        ]);
        let prev = last.rows[0]?.hash ?? GENESIS_HASH;
        for (const e of list) {
          const hash = chainHash(prev, e);
          const res = await client.query(
            `INSERT INTO audit_events (event_id, tenant, at, kind, workflow_id, run_id, app, ticket, actor, action, detail, prev_hash, hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (event_id) DO NOTHING`,
            [
              e.id,
              e.tenant,
              e.at,
              e.kind,
              e.workflowId,
              e.runId,
              e.app ?? null,
              e.ticket ?? null,
              e.actor,
              e.action,
              e.detail ?? null,
              prev,
              hash,
            ],
          );
          if (res.rowCount) {
            inserted++;
            prev = hash;
          }
        }
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    }
    return { inserted };
  }

  /** A page of a tenant's entries, oldest first, filtered; `next` continues after it. */
  async query(q: AuditQuery): Promise<{ events: StoredAuditEvent[]; next?: number }> {
    const where = ['tenant = $1'];
    const args: unknown[] = [q.tenant];
    const add = (clause: string, value: unknown) => {
      args.push(value);
      where.push(clause.replace('?', `$${args.length}`));
    };
    if (q.app) add('app = ?', q.app);
    if (q.ticket) add('ticket = ?', q.ticket);
    if (q.actor) add('actor = ?', q.actor);
    if (q.action) add('action = ?', q.action);
    if (q.since) add('at >= ?', q.since);
    if (q.until) add('at < ?', q.until);
    if (q.after !== undefined) add('seq > ?', q.after);
    const limit = Math.min(q.limit ?? 100, 1000);
    const rows = await this.pool.query<Row>(
      `SELECT * FROM audit_events WHERE ${where.join(' AND ')} ORDER BY seq LIMIT ${limit + 1}`,
      args,
    );
    const events = rows.rows.slice(0, limit).map(fromRow);
    return { events, ...(rows.rows.length > limit ? { next: events.at(-1)!.seq } : {}) };
  }

  /**
   * Statistics of a tenant's releases (domain/audit-stats.ts): the releases requested in the range, each with all
   * its entries the figures need (its end may come after `until`), one row per release run.
   */
  async stats(q: AuditStatsQuery): Promise<AuditStats & AuditStatsQuery> {
    const args: unknown[] = [q.tenant, STATS_ACTIONS];
    const requested = ['tenant = $1', "kind = 'release'", "action = 'requested'"];
    const add = (clause: string, value: unknown) => {
      args.push(value);
      requested.push(clause.replace('?', `$${args.length}`));
    };
    if (q.app) add('app = ?', q.app);
    if (q.since) add('at >= ?', q.since);
    if (q.until) add('at < ?', q.until);
    type Entry = Omit<ReleaseAuditEntry, 'detail'> & { detail: string | null };
    const rows = await this.pool.query<{ app: string | null; entries: Entry[] }>(
      `WITH runs AS (SELECT DISTINCT workflow_id, run_id FROM audit_events WHERE ${requested.join(' AND ')})
       SELECT min(e.app) AS app,
              json_agg(json_build_object('at', e.at, 'actor', e.actor, 'action', e.action, 'detail', e.detail) ORDER BY e.seq) AS entries
       FROM audit_events e JOIN runs USING (workflow_id, run_id)
       WHERE e.tenant = $1 AND e.kind = 'release' AND e.action = ANY($2)
       GROUP BY e.workflow_id, e.run_id`,
      args,
    );
    const runs = rows.rows.map((r) => ({
      app: r.app ?? '',
      entries: r.entries.map(({ detail, ...e }) => ({ ...e, ...(detail !== null ? { detail } : {}) })),
    }));
    return { ...q, ...auditStats(runs) };
  }

  /** Walks a tenant's chain from its first entry and names the first one that does not follow from the one before. */
  async verify(tenant: string): Promise<AuditVerification> {
    let prev = GENESIS_HASH;
    let checked = 0;
    let after = 0;
    for (;;) {
      const rows = await this.pool.query<Row>('SELECT * FROM audit_events WHERE tenant = $1 AND seq > $2 ORDER BY seq LIMIT 1000', [
        tenant,
        after,
      ]);
      for (const row of rows.rows) {
        const e = fromRow(row);
        if (row.prev_hash !== prev)
          return {
            tenant,
            ok: false,
            checked,
            broken: { seq: e.seq, id: e.id, reason: 'the entry before it was deleted, edited or inserted' },
          };
        if (chainHash(prev, e) !== row.hash)
          return { tenant, ok: false, checked, broken: { seq: e.seq, id: e.id, reason: 'its content was edited after it was written' } };
        prev = row.hash;
        checked++;
        after = e.seq;
      }
      if (rows.rows.length < 1000) return { tenant, ok: true, checked };
    }
  }
}

function fromRow(r: Row): StoredAuditEvent {
  return {
    seq: Number(r.seq),
    id: r.event_id,
    tenant: r.tenant,
    at: r.at.toISOString(),
    kind: r.kind,
    workflowId: r.workflow_id,
    runId: r.run_id,
    ...(r.app ? { app: r.app } : {}),
    ...(r.ticket ? { ticket: r.ticket } : {}),
    actor: r.actor,
    action: r.action,
    ...(r.detail !== null ? { detail: r.detail } : {}),
    hash: r.hash,
  };
}
