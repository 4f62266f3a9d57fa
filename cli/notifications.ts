import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { NOTIFICATION_EVENTS, type WebhookView } from '../domain/notifications.js';
import { api, CliError, loadConfig } from './api-client.js';

const route = (tenant: string, name?: string) =>
  `/v1/tenants/${encodeURIComponent(tenant)}/notifications/webhooks${name ? `/${encodeURIComponent(name)}` : ''}`;

/** One webhook as a line: name, URL, events, and only whether a secret is set. */
export function renderWebhook(w: WebhookView): string {
  const events = w.events === 'all' ? 'all events' : w.events.join(',');
  return `${w.name.padEnd(20)} ${w.url}  ${events}  secret ${w.secretSet ? 'set' : 'NOT set'}  (by ${w.updatedBy}, ${w.updatedAt})`;
}

/** The secret from the one place named: an environment variable, a file, or stdin (never the command line, which `ps` shows). */
async function readSecret(o: { secretEnv?: string; secretFile?: string; secretStdin?: boolean }): Promise<string | undefined> {
  const given = [o.secretEnv, o.secretFile, o.secretStdin].filter((x) => x !== undefined);
  if (given.length > 1) throw new CliError('name the secret once: --secret-env, --secret-file or --secret-stdin');
  if (o.secretEnv !== undefined) {
    const value = process.env[o.secretEnv];
    if (!value) throw new CliError(`--secret-env ${o.secretEnv}: that variable is not set`);
    return value;
  }
  if (o.secretFile !== undefined) return (await readFile(o.secretFile, 'utf8')).replace(/\r?\n$/, '');
  if (o.secretStdin) {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks)
      .toString('utf8')
      .replace(/\r?\n$/, '');
  }
  return undefined;
}

/** `barista notifications …`: a tenant's webhooks (docs/notifications.md). */
export function addNotificationCommands(program: Command): void {
  const notifications = program
    .command('notifications')
    .description("a tenant's webhooks: told when a release needs an approval, pauses or ends (signed with a shared secret)");

  notifications
    .command('set <tenant> <name>')
    .description('create or change a webhook (admin); a new one needs a secret, a changed one keeps its secret unless given one')
    .requiredOption('--url <url>', 'http:// or https:// URL each notification is POSTed to')
    .option('--secret-env <var>', 'read the secret (at least 16 bytes) from this environment variable')
    .option('--secret-file <file>', 'read the secret from this file')
    .option('--secret-stdin', 'read the secret from stdin')
    .option('--events <events>', `comma-separated, default all: ${NOTIFICATION_EVENTS.join(', ')}`)
    .action(
      async (
        tenant: string,
        name: string,
        o: { url: string; secretEnv?: string; secretFile?: string; secretStdin?: boolean; events?: string },
      ) => {
        const secret = await readSecret(o);
        const events = o.events
          ?.split(',')
          .map((e) => e.trim())
          .filter(Boolean);
        const body = { url: o.url, ...(secret !== undefined ? { secret } : {}), ...(events?.length ? { events } : {}) };
        console.log(renderWebhook(await api<WebhookView>(await loadConfig(), 'PUT', route(tenant, name), body)));
      },
    );

  notifications
    .command('list <tenant>')
    .description("the tenant's webhooks (secrets are never shown)")
    .option('--json', 'the API answer as JSON')
    .action(async (tenant: string, o: { json?: boolean }) => {
      const answer = await api<{ tenant: string; webhooks: WebhookView[] }>(await loadConfig(), 'GET', route(tenant));
      if (o.json) console.log(JSON.stringify(answer, null, 2));
      else if (!answer.webhooks.length) console.log(`${tenant} has no webhooks`);
      else console.log(answer.webhooks.map(renderWebhook).join('\n'));
    });

  notifications
    .command('remove <tenant> <name>')
    .description('remove a webhook (admin); deliveries not yet made to it are dropped')
    .action(async (tenant: string, name: string) => {
      const { removed } = await api<{ removed: string }>(await loadConfig(), 'DELETE', route(tenant, name));
      console.log(`${tenant}: webhook ${removed} removed`);
    });
}
