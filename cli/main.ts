import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import type { ReleaseStatus } from '../workflows/release-status.js';
import { api, CliError, loadConfig, saveConfig } from './api-client.js';
import { exitCodeFor, renderActionResult, renderRelease, type ActionAnswer } from './render.js';
import { addTicketCommands } from './tickets.js';
import { addAuditCommands } from './audit.js';
import { addDriftCommands } from './drift.js';
import { appRoute } from './app-route.js';
import { addAppDiffCommand } from './app-diff.js';
import { addReleaseStartCommands } from './release-start.js';
import { addRevisionCommands } from './revisions.js';
import { addNotificationCommands } from './notifications.js';

const program = new Command('barista').description('Gradual, lossless, auditable releases').showHelpAfterError();

program
  .command('configure')
  .description('save the API endpoint and token (file mode 0600)')
  .requiredOption('--endpoint <url>', 'API URL, e.g. http://127.0.0.1:8080')
  .requiredOption('--token <token>', 'bearer token')
  .action(async (o: { endpoint: string; token: string }) => {
    console.log(`saved to ${await saveConfig({ endpoint: o.endpoint, token: o.token })}`);
  });

const app = program.command('app').description('Apps and their revisions');
app
  .command('apply')
  .description('register or update an App from a YAML file (name, tenant and the spec)')
  .requiredOption('-f, --file <file>', 'app.yaml')
  .action(async (o: { file: string }) => {
    const spec = parseYaml(await readFile(o.file, 'utf8')) as { name?: string; tenant?: string } & Record<string, unknown>;
    const { name, tenant, ...body } = spec;
    if (!name || !tenant) throw new CliError(`${o.file}: name and tenant are required`);
    const result = await api<{ revision: number; created: boolean }>(await loadConfig(), 'PUT', appRoute(`${tenant}/${name}`), body);
    console.log(
      result.created
        ? `${tenant}/${name}: revision ${result.revision} created`
        : `${tenant}/${name}: unchanged at revision ${result.revision}`,
    );
  });

app
  .command('list <tenant>')
  .description("list a tenant's Apps: latest revision and the revision each cell last released")
  .action(async (tenant: string) => {
    const { apps } = await api<{ apps: { name: string; workspace: string; latest: number; released: Record<string, number> }[] }>(
      await loadConfig(),
      'GET',
      `/v1/tenants/${encodeURIComponent(tenant)}/apps`,
    );
    for (const a of apps) {
      const cells = Object.entries(a.released).map(([cell, rev]) => `${cell}@${rev}`);
      console.log(
        `${a.name.padEnd(30)} ${a.workspace.padEnd(12)} rev ${String(a.latest).padEnd(4)} ${cells.join(' ') || '(never released)'}`,
      );
    }
  });

addAppDiffCommand(app);

const release = program.command('release').description('Releases of an App');
addReleaseStartCommands(release);

release
  .command('list <tenant>')
  .description('list the releases of a tenant, newest first')
  .option('--app <app>', 'only this App')
  .option('--state <state>', 'only releases in this state (running, waiting-approval, paused, succeeded, ...)')
  .option('--ticket <id>', 'only the releases this ticket started')
  .option('--limit <n>', 'at most this many', Number)
  .action(async (tenant: string, o: { app?: string; state?: string; ticket?: string; limit?: number }) => {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(o)) if (value !== undefined) query.set(key, String(value));
    const { releases } = await api<{
      releases: { workflowId: string; runId: string; state: string; startTime: string; requestedBy: string; ticket?: string }[];
    }>(await loadConfig(), 'GET', `/v1/tenants/${encodeURIComponent(tenant)}/releases${query.size ? `?${query.toString()}` : ''}`);
    for (const r of releases)
      console.log(
        `${r.startTime}  ${r.state.padEnd(16)} ${r.workflowId}  run ${r.runId}  by ${r.requestedBy}${r.ticket ? `  ticket ${r.ticket}` : ''}`,
      );
  });

release
  .command('status <app>')
  .description('show the release of <tenant>/<app>; --watch follows it live until it needs you or ends')
  .option('-w, --watch', 'follow until done (exit 0), failed/aborted/rolled back (1), or waiting for a person (2)')
  .option('--run <runId>', 'an earlier release of the App, by the run id `release list` shows')
  .action(async (ref: string, o: { watch?: boolean; run?: string }) => {
    const config = await loadConfig();
    const path = o.run ? `${appRoute(ref)}/releases/${encodeURIComponent(o.run)}` : `${appRoute(ref)}/release`;
    const get = (query = '') => api<ReleaseStatus>(config, 'GET', `${path}${query}`);
    if (!o.watch) {
      const s = await get();
      console.log(renderRelease(s).join('\n'));
      return;
    }
    const tty = process.stdout.isTTY;
    let drawn = 0;
    let last = '';
    for (;;) {
      // each second: the counts of every group and the pods of the current one only (a release may have 10,000)
      const s = await get('?group=current');
      const lines = renderRelease(s);
      const text = lines.join('\n');
      if (tty) {
        process.stdout.write(`${drawn ? `\x1b[${drawn}A\x1b[J` : ''}${text}\n`); // redraw in place
        drawn = lines.length;
      } else if (text !== last) {
        process.stdout.write(`${new Date().toISOString()}\n${text}\n`);
      }
      last = text;
      const code = exitCodeFor(s);
      if (code !== undefined) {
        process.exitCode = code;
        return;
      }
      await new Promise((r) => setTimeout(r, 1_000));
    }
  });

// Each action is answered by the release itself: what it recorded, or (409, exit 1) why it refused
for (const action of ['approve', 'pause', 'resume', 'abort', 'rollback', 'promote-all'] as const) {
  const cmd = release.command(`${action} <app>`).description(`${action} the release of <tenant>/<app>`).option('--reason <text>');
  if (action === 'approve') cmd.option('--group <n>', 'group whose gate to approve (default: the current one)', Number);
  cmd.action(async (ref: string, o: { reason?: string; group?: number }) => {
    const body = { ...(o.reason ? { reason: o.reason } : {}), ...(o.group !== undefined ? { group: o.group } : {}) };
    console.log(renderActionResult(await api<ActionAnswer>(await loadConfig(), 'POST', `${appRoute(ref)}/release/${action}`, body)));
  });
}

release
  .command('catch-up <app> <runId>')
  .description('release exactly the cells a disaster-mode release of <tenant>/<app> skipped (its ledger)')
  .option('--revision <n>', "target revision (default: the skipped release's; a newer one may be named)", Number)
  .option('--reason <text>')
  .option('--idempotency-key <key>')
  .action(async (ref: string, runId: string, o: { revision?: number; reason?: string; idempotencyKey?: string }) => {
    const body = { ...(o.revision !== undefined ? { revision: o.revision } : {}), ...(o.reason ? { reason: o.reason } : {}) };
    const answer = await api<{ workflowId: string; runId: string }>(
      await loadConfig(),
      'POST',
      `${appRoute(ref)}/releases/${encodeURIComponent(runId)}/catch-up`,
      body,
      o.idempotencyKey ? { 'idempotency-key': o.idempotencyKey } : {},
    );
    console.log(`catch-up started: ${answer.workflowId} (run ${answer.runId})`);
  });

release
  .command('bypass-window <app>')
  .description('let the release of <tenant>/<app> pass the change window it waits for (admin; recorded)')
  .requiredOption('--reason <text>', 'why (recorded)')
  .action(async (ref: string, o: { reason: string }) => {
    console.log(
      renderActionResult(
        await api<ActionAnswer>(await loadConfig(), 'POST', `${appRoute(ref)}/release/bypass-window`, { reason: o.reason }),
      ),
    );
  });

const windows = program.command('windows').description("a tenant's change windows: no release starts a group inside one");
windows
  .command('set <tenant>')
  .description('replace the windows with those of a YAML file (a list; `[]` removes them all) (admin)')
  .requiredOption('-f, --file <file>', 'windows.yaml')
  .action(async (tenant: string, o: { file: string }) => {
    const list = parseYaml(await readFile(o.file, 'utf8')) as unknown;
    const set = await api<{ changeWindows: { name: string }[] }>(
      await loadConfig(),
      'PUT',
      `/v1/tenants/${encodeURIComponent(tenant)}/change-windows`,
      {
        windows: list ?? [],
      },
    );
    console.log(`${tenant}: ${set.changeWindows.length} change windows (${set.changeWindows.map((w) => w.name).join(', ') || 'none'})`);
  });
windows.command('list <tenant>').action(async (tenant: string) => {
  const s = await api<{ changeWindows: Record<string, unknown>[]; updatedBy?: string }>(
    await loadConfig(),
    'GET',
    `/v1/tenants/${encodeURIComponent(tenant)}/change-windows`,
  );
  for (const w of s.changeWindows)
    console.log(
      w.kind === 'once'
        ? `${String(w.name).padEnd(20)} once    ${String(w.start)} → ${String(w.end)}${w.reason ? `  (${String(w.reason)})` : ''}`
        : `${String(w.name).padEnd(20)} weekly  ${(w.days as string[]).join(',')} ${String(w.from)}–${String(w.to)} ${String(w.timeZone)}${w.reason ? `  (${String(w.reason)})` : ''}`,
    );
});

release
  .command('skip-pod <app> <pod>')
  .description('take a pod out of the release of <tenant>/<app>')
  .option('--reason <text>')
  .action(async (ref: string, pod: string, o: { reason?: string }) => {
    const body = { pod, ...(o.reason ? { reason: o.reason } : {}) };
    console.log(renderActionResult(await api<ActionAnswer>(await loadConfig(), 'POST', `${appRoute(ref)}/release/skip-pod`, body)));
  });

addTicketCommands(program);
addAuditCommands(program);
addDriftCommands(program);
addRevisionCommands(program, app);
addNotificationCommands(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`barista: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = err instanceof CliError ? err.exitCode : 1;
});
