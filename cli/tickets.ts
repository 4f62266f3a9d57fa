import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import type { ReleaseStatus } from '../workflows/release-status.js';
import type { TicketStatus } from '../workflows/ticket-definitions.js';
import { api, CliError, loadConfig } from './api-client.js';

const route = (tenant: string, id?: string) =>
  `/v1/tenants/${encodeURIComponent(tenant)}/tickets${id === undefined ? '' : `/${encodeURIComponent(id)}`}`;

/** `tenant/id` → its parts. */
function ticketRef(ref: string): { tenant: string; id: string } {
  const m = /^([a-z0-9-]+)\/(.+)$/.exec(ref);
  if (!m) throw new CliError(`"${ref}" is not <tenant>/<ticket id>`);
  return { tenant: m[1]!, id: m[2]! };
}

/** What a running app's release shows in the ticket view: its state, current group and gate. */
export type LiveRelease = Pick<ReleaseStatus, 'state' | 'currentGroup' | 'groups' | 'gates' | 'window'>;

/**
 * The ticket as lines: a header, then each dependency level with its apps' states (a running app with its
 * release's current group, gate or change window when `live` has it), then the latest audit entries.
 */
export function renderTicket(s: TicketStatus, live: Map<string, LiveRelease> = new Map()): string[] {
  const lines = [`ticket ${s.tenant}/${s.id} "${s.title}": ${s.state}${s.paused ? ` (paused by ${s.paused.by})` : ''}`];
  s.levels.forEach((apps, level) => {
    const shown = apps.map((name) => {
      const a = s.apps.find((x) => x.app === name)!;
      const release = live.get(name);
      const detail = [a.revision ? `rev ${a.revision}` : '', release ? liveDetail(release) : '', a.reason ?? ''].filter(Boolean).join(', ');
      return `${name} ${a.state}${detail ? ` (${detail})` : ''}`;
    });
    lines.push(`  level ${level}: ${shown.join(' · ')}`);
  });
  for (const e of s.audit.slice(-5)) lines.push(`  ${e.at} ${e.by} ${e.action}${e.detail ? `: ${e.detail}` : ''}`);
  return lines;
}

/** `group 2/3 running`, `group 1/3 waiting-approval, gate 1 manual waiting`, `… until <time> (change freeze 'x')`. */
export function liveDetail(r: LiveRelease): string {
  const parts: string[] = [];
  if (r.currentGroup !== undefined && r.groups.length) parts.push(`group ${r.currentGroup + 1}/${r.groups.length} ${r.state}`);
  else parts.push(r.state);
  const gate = r.gates.find((g) => g.state === 'waiting');
  if (gate) parts.push(`gate ${gate.group + 1} ${gate.type} waiting`);
  if (r.window) parts.push(`change freeze '${r.window.name}' until ${r.window.until}`);
  return parts.join(', ');
}

/** The running apps' releases, read once per redraw (summary view: no pod lists); one that cannot be read is left out. */
async function liveReleases(config: Awaited<ReturnType<typeof loadConfig>>, s: TicketStatus): Promise<Map<string, LiveRelease>> {
  const running = s.apps.filter((a) => a.release && a.state === 'running');
  const read = await Promise.all(
    running.map(async (a) => {
      const url = `/v1/tenants/${encodeURIComponent(s.tenant)}/apps/${encodeURIComponent(a.app)}/releases/${encodeURIComponent(a.release!.runId)}?view=summary`;
      return [a.app, await api<LiveRelease>(config, 'GET', url).catch(() => undefined)] as const;
    }),
  );
  return new Map(read.filter((e): e is readonly [string, LiveRelease] => e[1] !== undefined));
}

/** Exit code of `ticket status --watch`: 0 succeeded, 1 aborted or rolled back, 2 waiting for a person; else go on. */
export function ticketExitCode(s: TicketStatus): number | undefined {
  if (s.state === 'succeeded') return 0;
  if (s.state === 'aborted' || s.state === 'rolled-back') return 1;
  if (s.state === 'blocked' || s.state === 'awaiting-approval' || s.apps.some((a) => a.state === 'awaiting-approval')) return 2;
  return undefined;
}

interface TicketActionAnswer {
  action: string;
  by: string;
  state: string;
  recorded: { action: string; detail?: string };
}

/** `barista ticket …`: create from a file, list, status (--watch), and each operator action. */
export function addTicketCommands(program: Command): void {
  const ticket = program.command('ticket').description('Release tickets: several Apps released in dependency order');
  ticket
    .command('create')
    .description('create a ticket from a YAML file (tenant, title, entries with dependsOn, approval, onFailure, maxParallel)')
    .requiredOption('-f, --file <file>', 'ticket.yaml')
    .option('--id <id>', 'the ticket id (default: a new uuid); reusing one is refused')
    .action(async (o: { file: string; id?: string }) => {
      const { tenant, ...body } = parseYaml(await readFile(o.file, 'utf8')) as { tenant?: string } & Record<string, unknown>;
      if (!tenant) throw new CliError(`${o.file}: tenant is required`);
      const created = await api<{ id: string; workflowId: string }>(
        await loadConfig(),
        'POST',
        route(tenant),
        body,
        o.id ? { 'idempotency-key': o.id } : {},
      );
      console.log(`ticket ${tenant}/${created.id} created (${created.workflowId})`);
    });

  ticket
    .command('list <tenant>')
    .description("a tenant's tickets, newest first")
    .action(async (tenant: string) => {
      const { tickets } = await api<{ tickets: { id: string; title: string; state: string; startTime: string; requestedBy: string }[] }>(
        await loadConfig(),
        'GET',
        route(tenant),
      );
      for (const t of tickets) console.log(`${t.startTime}  ${t.state.padEnd(18)} ${t.id}  "${t.title}"  by ${t.requestedBy}`);
    });

  ticket
    .command('status <ticket>')
    .description('show <tenant>/<id>: each level of apps and their states; --watch follows it until it ends or needs you')
    .option('-w, --watch', 'follow until succeeded (exit 0), aborted/rolled back (1), or blocked/waiting for approval (2)')
    .action(async (ref: string, o: { watch?: boolean }) => {
      const { tenant, id } = ticketRef(ref);
      const config = await loadConfig();
      let last = '';
      for (;;) {
        const s = await api<TicketStatus>(config, 'GET', route(tenant, id));
        const text = renderTicket(s, await liveReleases(config, s)).join('\n');
        if (text !== last) console.log(o.watch ? `${new Date().toISOString()}\n${text}` : text);
        last = text;
        const code = ticketExitCode(s);
        if (!o.watch || code !== undefined) {
          if (o.watch) process.exitCode = code;
          return;
        }
        await new Promise((r) => setTimeout(r, 1_000));
      }
    });

  for (const action of ['approve', 'pause', 'resume', 'abort', 'rollback'] as const) {
    const cmd = ticket.command(`${action} <ticket>`).description(`${action} the ticket <tenant>/<id>`).option('--reason <text>');
    if (action === 'approve') cmd.option('--app <app>', 'approve one app (approval per-app); without: the ticket');
    cmd.action(async (ref: string, o: { reason?: string; app?: string }) => {
      const { tenant, id } = ticketRef(ref);
      const body = { ...(o.reason ? { reason: o.reason } : {}), ...(o.app ? { app: o.app } : {}) };
      printAnswer(await api<TicketActionAnswer>(await loadConfig(), 'POST', `${route(tenant, id)}/${action}`, body));
    });
  }
  ticket
    .command('retry <ticket> <app>')
    .description("start a failed or aborted app's release again; its dependents follow")
    .option('--revision <n>', 'another revision of the app', Number)
    .option('--reason <text>')
    .action(async (ref: string, app: string, o: { revision?: number; reason?: string }) => {
      const { tenant, id } = ticketRef(ref);
      const body = { app, ...(o.revision !== undefined ? { revision: o.revision } : {}), ...(o.reason ? { reason: o.reason } : {}) };
      printAnswer(await api<TicketActionAnswer>(await loadConfig(), 'POST', `${route(tenant, id)}/retry`, body));
    });
  ticket
    .command('skip <ticket> <app>')
    .description('mark an app done by hand (admin): its dependents may go on')
    .requiredOption('--reason <text>')
    .action(async (ref: string, app: string, o: { reason: string }) => {
      const { tenant, id } = ticketRef(ref);
      printAnswer(await api<TicketActionAnswer>(await loadConfig(), 'POST', `${route(tenant, id)}/skip`, { app, reason: o.reason }));
    });
}

function printAnswer(r: TicketActionAnswer): void {
  console.log(
    `${r.action} accepted as ${r.by}: ${r.recorded.action}${r.recorded.detail ? ` ${r.recorded.detail}` : ''} (ticket ${r.state})`,
  );
}
