import type { Command } from 'commander';
import { z } from 'zod';
import type { RevisionDiff } from '../domain/index.js';
import { api, CliError, loadConfig } from './api-client.js';
import { appRoute } from './app-route.js';
import { renderDiff } from './render-plan.js';

const RevisionArg = z.string().regex(/^[1-9]\d*$/, 'must be a revision number (1, 2, ...)');

/** `app diff <tenant>/<app> <a> <b>`: what changes from revision a to revision b. */
export function addAppDiffCommand(app: Command): void {
  app
    .command('diff <app> <a> <b>')
    .description('what changes from revision <a> to revision <b> of <tenant>/<app>: template, env, overrides, replicas')
    .option('--json', 'the changes as JSON (field, kind, from, to)')
    .action(async (ref: string, a: string, b: string, o: { json?: boolean }) => {
      for (const [name, value] of [
        ['<a>', a],
        ['<b>', b],
      ] as const) {
        const parsed = RevisionArg.safeParse(value);
        if (!parsed.success) throw new CliError(`${name} "${value}": ${parsed.error.issues[0]!.message}`);
      }
      const diff = await api<RevisionDiff>(await loadConfig(), 'GET', `${appRoute(ref)}/revisions/${a}/diff/${b}`);
      console.log(o.json ? JSON.stringify(diff, null, 2) : renderDiff(diff, ref).join('\n'));
    });
}
