import type { ActionResult } from '../workflows/definitions.js';
import type { ReleaseStatus } from '../workflows/release-status.js';

/** The API's answer to an operator action: what the release recorded, and who acted (the token's identity). */
export type ActionAnswer = ActionResult & { by: string };

const ICON: Record<string, string> = { pending: '·', 'in-progress': '▶', done: '✓', skipped: '↷', failed: '✗', unknown: '?' };

/** The release as lines of text: header, pause reason, then each group with its pods and the gate after it. Pure. */
export function renderRelease(s: ReleaseStatus, now = Date.now()): string[] {
  const lines = [`release ${s.tenant}/${s.app}: revision ${s.from ?? '-'} → ${s.to}   state ${s.state.toUpperCase()}`];
  if (s.paused)
    lines.push(
      `  PAUSED: ${s.paused.reason}${s.paused.pod ? ` (pod ${s.paused.pod}, step ${s.paused.step})` : ''}${s.paused.by ? ` by ${s.paused.by}` : ''}`,
    );
  if (s.paused?.check)
    lines.push(
      `  CHECK ${s.paused.check.name} (${s.paused.check.type}) ${s.paused.check.state}${s.paused.check.query ? `: ${s.paused.check.query}` : ''}`,
    );
  if (s.window)
    lines.push(
      `  CHANGE WINDOW '${s.window.name}' until ${s.window.until}${s.window.reason ? ` (${s.window.reason})` : ''}: goes on by itself then`,
    );
  for (const g of s.groups) {
    const pods = s.pods.filter((p) => p.group === g.index);
    // a summary or one-group view lists no pods for the other groups: their counts come from the release
    const listed = pods.length > 0 || !g.size;
    const done = listed ? pods.filter((p) => p.state === 'done').length : (g.done ?? 0);
    const total = listed ? pods.length : (g.size ?? 0);
    lines.push(
      `  group ${g.index}${g.beta ? ' (beta)' : ''}${s.currentGroup === g.index ? ' ◀' : ''}: ${progressBar(done, total)} ${done}/${total} done`,
    );
    if (listed) lines.push(`    ${podLine(pods, now)}`);
    const gate = s.gates.find((x) => x.group === g.index);
    if (gate)
      lines.push(
        `    gate ${gate.type}: ${gate.state}${gate.decidedBy ? ` by ${gate.decidedBy}` : ''}${gate.reason ? ` (${gate.reason})` : ''}${countdown(gate, now)}`,
      );
    for (const check of gate?.checks ?? []) lines.push(...checkLines(check));
  }
  if (s.ledger?.length) {
    const open = s.ledgerOpen ? `, ${s.ledgerOpen.length ? `${s.ledgerOpen.length} still owed` : 'closed'}` : '';
    lines.push(`  LEDGER (disaster mode): ${s.ledger.length} cell(s) skipped, owed revision ${s.to}${open}`);
    for (const e of s.ledger) {
      const pods = [e.moved.length ? `moved ${e.moved.join(', ')}` : '', e.midStep.length ? `mid-step ${e.midStep.join(', ')}` : '']
        .filter(Boolean)
        .join('; ');
      lines.push(`    ${e.cell} (${e.cluster}) at revision ${e.revision ?? '-'} since ${e.at}: ${e.reason}${pods ? ` [${pods}]` : ''}`);
    }
  }
  for (const notice of s.notices ?? []) lines.push(`  NOTE: ${notice}`);
  return lines;
}

const DECISION_ICON: Record<string, string> = { pass: '✓', fail: '✗', inconclusive: '?' };
/** How many of a check's latest measurements the live view shows. */
const MEASUREMENTS_SHOWN = 3;

/** A gate check: its state and round, then its latest measurements (decision, value, reason). */
function checkLines(check: NonNullable<ReleaseStatus['gates'][number]['checks']>[number]): string[] {
  const taken = check.measurements.length;
  const lines = [
    `      check ${check.name} (${check.type}): ${check.state}, ${taken} measured${check.round > 1 ? `, round ${check.round}` : ''}`,
  ];
  check.measurements.slice(-MEASUREMENTS_SHOWN).forEach((m, i) => {
    const n = taken - Math.min(taken, MEASUREMENTS_SHOWN) + i + 1;
    lines.push(
      `        ${DECISION_ICON[m.decision] ?? '?'} #${n} ${m.at.slice(11, 19)} ${m.value ?? '-'}${m.reason ? `: ${m.reason}` : ''}`,
    );
  });
  return lines;
}

const BAR_WIDTH = 20;
/** `[██████░░░░]`: the share of a group's pods done. */
function progressBar(done: number, total: number): string {
  const filled = total > 0 ? Math.round((done / total) * BAR_WIDTH) : 0;
  return `[${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}]`;
}

function seconds(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/** A waiting gate's countdown: when a timed gate passes, an auto gate's window ends, a manual gate times out. */
function countdown(gate: ReleaseStatus['gates'][number], now: number): string {
  if (gate.state !== 'waiting' || !gate.until) return '';
  const left = seconds(Date.parse(gate.until) - now);
  return gate.type === 'timed' ? ` passes in ${left}` : gate.type === 'auto' ? ` window ends in ${left}` : ` times out in ${left}`;
}

/** The group's pods by icon; past MAX_PODS_SHOWN, only those not simply pending or done, then how many more. */
const MAX_PODS_SHOWN = 40;
function podLine(pods: ReleaseStatus['pods'], now: number): string {
  const stepOf = (p: ReleaseStatus['pods'][number]) => {
    if (!p.step) return '';
    if (p.state === 'failed') return ` [${p.step}]`;
    if (p.state !== 'in-progress') return '';
    return ` [${p.step}${p.stepSince ? ` ${seconds(now - Date.parse(p.stepSince))}` : ''}]`;
  };
  const icon = (p: ReleaseStatus['pods'][number]) => `${ICON[p.state] ?? '?'} ${p.name}${stepOf(p)}`;
  if (pods.length <= MAX_PODS_SHOWN) return pods.map(icon).join('  ');
  const notable = pods.filter((p) => p.state !== 'pending' && p.state !== 'done');
  const shown = notable.slice(0, MAX_PODS_SHOWN);
  const rest = pods.length - shown.length;
  return `${shown.map(icon).join('  ')}${shown.length ? '  ' : ''}(${rest} more pending or done)`;
}

/** Exit code of `release status --watch` once the release stops moving without a person. */
export function exitCodeFor(s: ReleaseStatus): number | undefined {
  switch (s.state) {
    case 'succeeded':
      return 0;
    case 'succeeded-with-skips':
      return 3; // done, but cells of unreachable clusters are in the ledger: a catch-up is owed
    case 'failed':
    case 'aborted':
    case 'rolled-back':
      return 1;
    case 'paused':
    case 'waiting-approval':
      return 2; // needs a person
    default:
      return undefined;
  }
}

/** One line for an accepted action: `approve accepted as carol: approved group 0 (release waiting-approval)`. */
export function renderActionResult(r: ActionAnswer): string {
  const what = `${r.recorded.action}${r.recorded.detail ? ` ${r.recorded.detail}` : ''}`;
  return `${r.action} accepted as ${r.by}: ${what} (release ${r.state})`;
}
