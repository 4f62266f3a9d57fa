import type { Command } from 'commander';
import type { AuditStatsQuery, StoredAuditEvent } from '../activities/audit-store.js';
import type { AuditStats } from '../domain/audit-stats.js';
import { api, loadConfig } from './api-client.js';
import { renderAuditStats } from './render-audit-stats.js';

/** `barista audit …`: the durable audit record of a tenant (docs/audit.md). */
export function addAuditCommands(program: Command): void {
  const audit = program
    .command('audit')
    .description(
      "a tenant's audit record: `audit <tenant>` lists it (filters, --jsonl to export), `audit verify <tenant>` checks it, `audit stats <tenant>` sums up its releases",
    );
  audit
    .command('list <tenant>', { isDefault: true })
    .description('entries oldest first (every page with --all)')
    .option('--app <app>')
    .option('--ticket <id>')
    .option('--actor <name>')
    .option('--action <action>')
    .option('--since <time>', 'ISO 8601')
    .option('--until <time>', 'ISO 8601')
    .option('--limit <n>', 'entries per page (default 100)', Number)
    .option('--all', 'every page')
    .option('--jsonl', 'one JSON entry per line (an export)')
    .action(async (tenant: string, o: Record<string, string | number | boolean | undefined>) => {
      const config = await loadConfig();
      let after: number | undefined;
      do {
        const query = new URLSearchParams();
        for (const key of ['app', 'ticket', 'actor', 'action', 'since', 'until', 'limit'])
          if (o[key] !== undefined) query.set(key, String(o[key]));
        if (after !== undefined) query.set('after', String(after));
        const page = await api<{ events: StoredAuditEvent[]; next?: number }>(
          config,
          'GET',
          `/v1/tenants/${encodeURIComponent(tenant)}/audit?${query}`,
        );
        for (const e of page.events)
          console.log(
            o.jsonl
              ? JSON.stringify(e)
              : `${e.at}  ${e.actor.padEnd(14)} ${e.action.padEnd(22)} ${e.kind === 'ticket' ? `ticket ${e.ticket}` : `${e.app}${e.ticket ? ` (ticket ${e.ticket})` : ''}`}${e.detail ? `: ${e.detail}` : ''}`,
          );
        after = o.all ? page.next : undefined;
      } while (after !== undefined);
    });
  audit
    .command('verify <tenant>')
    .description("walk the tenant's hash chain; exit 1 naming the first entry edited or following a deleted one")
    .action(async (tenant: string) => {
      const v = await api<{ ok: boolean; checked: number; broken?: { seq: number; id: string; reason: string } }>(
        await loadConfig(),
        'GET',
        `/v1/tenants/${encodeURIComponent(tenant)}/audit/verify`,
      );
      if (v.ok) console.log(`audit record of ${tenant}: ${v.checked} entries, chain intact`);
      else {
        console.log(
          `audit record of ${tenant}: BROKEN at entry ${v.broken!.seq} (${v.broken!.id}): ${v.broken!.reason}; ${v.checked} entries before it intact`,
        );
        process.exitCode = 1;
      }
    });
  audit
    .command('stats <tenant>')
    .description('releases requested in a range, per app and in total: lead time, failure, rollback and abort rates, time paused')
    .option('--app <app>')
    .option('--since <time>', 'ISO 8601')
    .option('--until <time>', 'ISO 8601')
    .option('--json', 'the figures as JSON')
    .action(async (tenant: string, o: { app?: string; since?: string; until?: string; json?: boolean }) => {
      const query = new URLSearchParams();
      for (const key of ['app', 'since', 'until'] as const) if (o[key] !== undefined) query.set(key, o[key]);
      const stats = await api<AuditStats & AuditStatsQuery>(
        await loadConfig(),
        'GET',
        `/v1/tenants/${encodeURIComponent(tenant)}/audit/stats?${query}`,
      );
      console.log(o.json ? JSON.stringify(stats, null, 2) : renderAuditStats(stats).join('\n'));
    });
}
