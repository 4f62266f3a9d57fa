import type { Command } from 'commander';
import type { MarkAnswer, RevisionHistory } from '../api/revision-client.js';
import { REVISION_VERDICTS } from '../domain/revision-marks.js';
import { api, CliError, loadConfig } from './api-client.js';
import { appRoute } from './app-route.js';

/** `tenant/app` → the route prefix of that App's revisions. */
function revisionsRoute(ref: string): string {
  return `${appRoute(ref)}/revisions`;
}

/**
 * The history as lines: a header, then one line per kept revision, newest first (number, when, by whom, images,
 * the cells that run it now), and under a marked one its mark.
 */
export function renderRevisionHistory(h: RevisionHistory): string[] {
  const lines = [`${h.tenant}/${h.app}: latest revision ${h.latest}, ${h.revisions.length} kept (newest first)`];
  const rows = h.revisions.map((r) => [
    `${r.revision}${r.latest ? '*' : ''}`,
    r.createdAt,
    r.createdBy,
    Object.entries(r.images)
      .map(([container, image]) => `${container}=${image}`)
      .join(' '),
    r.cells.join(',') || '-',
    r.mark ? r.mark.verdict.toUpperCase() : '',
  ]);
  const header = ['REV', 'CREATED', 'BY', 'IMAGES', 'CELLS', 'MARK'];
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]!.length)));
  const line = (cols: string[]) =>
    cols
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  lines.push(line(header));
  h.revisions.forEach((r, i) => {
    lines.push(line(rows[i]!));
    if (r.mark) lines.push(`    marked ${r.mark.verdict} by ${r.mark.by} at ${r.mark.at}: ${r.mark.reason}`);
  });
  const older = Object.entries(h.olderRevisions);
  if (older.length) lines.push(`cells on revisions no longer kept: ${older.map(([cell, n]) => `${cell}@${n}`).join(' ')}`);
  lines.push('(* latest: the target of a release without --revision; a BAD latest is refused as one)');
  return lines;
}

/** `barista app history` and `barista revision mark-bad|mark-good` (docs/releases.md, "Revisions"). */
export function addRevisionCommands(program: Command, app: Command): void {
  app
    .command('history <app>')
    .description('the kept revisions of <tenant>/<app>: when, by whom, images, which cells run each now, and its mark')
    .option('--json', 'the API answer as JSON')
    .action(async (ref: string, o: { json?: boolean }) => {
      const history = await api<RevisionHistory>(await loadConfig(), 'GET', revisionsRoute(ref));
      console.log(o.json ? JSON.stringify(history, null, 2) : renderRevisionHistory(history).join('\n'));
    });

  const revision = program.command('revision').description("mark an App's revisions bad or good");
  for (const verdict of REVISION_VERDICTS)
    revision
      .command(`mark-${verdict} <app> <revision>`)
      .description(
        verdict === 'bad'
          ? 'mark a revision of <tenant>/<app> bad: a release without --revision then refuses it (recorded)'
          : 'mark a revision of <tenant>/<app> good, lifting a bad mark (recorded)',
      )
      .requiredOption('--reason <text>', 'why (recorded in the history and the audit record)')
      .action(async (ref: string, number: string, o: { reason: string }) => {
        if (!/^[1-9]\d*$/.test(number)) throw new CliError(`"${number}" is not a revision number`);
        const answer = await api<MarkAnswer>(await loadConfig(), 'POST', `${revisionsRoute(ref)}/${number}/mark-${verdict}`, {
          reason: o.reason,
        });
        const was = answer.previous ? ` (was ${answer.previous.verdict}: ${answer.previous.reason})` : '';
        console.log(`${answer.tenant}/${answer.app} revision ${answer.revision} marked ${answer.mark.verdict} by ${answer.mark.by}${was}`);
      });
}
