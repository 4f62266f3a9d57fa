import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { PlanPreview } from '../domain/index.js';
import { api, CliError, loadConfig } from './api-client.js';
import { appRoute, parseAppRef } from './app-route.js';
import { addReleaseFlags, annotateIssues, parseReleaseFile, releaseBody, type ReleaseFlags } from './release-flags.js';
import { renderPlan } from './render-plan.js';

/** The request body of `release start`/`plan <tenant>/<app>`: the file's, the flags over it. */
async function requestBody(ref: string, flags: ReleaseFlags): Promise<Record<string, unknown>> {
  if (!flags.file) return releaseBody(flags);
  let text: string;
  try {
    text = await readFile(flags.file, 'utf8');
  } catch (err) {
    throw new CliError(`-f ${flags.file}: ${(err as Error).message}`);
  }
  return releaseBody(flags, parseReleaseFile(flags.file, text, parseAppRef(ref)));
}

/** `release start` and `release plan` (its dry run): the same flags, the same body, the same API call. */
export function addReleaseStartCommands(release: Command): void {
  addReleaseFlags(
    release
      .command('start <app>')
      .description('start a release of <tenant>/<app> (see `release plan` for what it would do)')
      .option('--idempotency-key <key>', 'a retried start with this key and request returns the release it started'),
  ).action(async (ref: string, o: ReleaseFlags & { idempotencyKey?: string }) => {
    const { idempotencyKey, ...flags } = o;
    const body = await requestBody(ref, flags);
    const answer = await api<{ workflowId: string; runId: string } | { queued: { ticket: string; status: string } }>(
      await loadConfig(),
      'POST',
      `${appRoute(ref)}/release`,
      body,
      idempotencyKey ? { 'idempotency-key': idempotencyKey } : {},
    ).catch((err: unknown) => {
      throw annotateIssues(err, flags);
    });
    if ('queued' in answer) console.log(`queued as ${answer.queued.ticket}: ${answer.queued.status}`);
    else console.log(`started ${answer.workflowId} (run ${answer.runId})`);
  });

  addReleaseFlags(
    release
      .command('plan <app>')
      .description('dry run: the plan a `release start` of <tenant>/<app> with the same flags would run; starts nothing')
      .option('--json', 'the whole plan as JSON (every pod of every group)'),
  ).action(async (ref: string, o: ReleaseFlags & { json?: boolean }) => {
    const { json, ...flags } = o;
    const body = await requestBody(ref, flags);
    const plan = await api<PlanPreview & { inFlight?: { runId: string } }>(await loadConfig(), 'POST', `${appRoute(ref)}/release`, {
      ...body,
      dryRun: true,
    }).catch((err: unknown) => {
      throw annotateIssues(err, flags);
    });
    console.log(json ? JSON.stringify(plan, null, 2) : renderPlan(plan).join('\n'));
  });
}
