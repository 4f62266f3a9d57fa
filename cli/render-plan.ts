import type { GatePreview, PlanPreview, RevisionDiff } from '../domain/index.js';

/** Pod names shown per cell and group; the rest are counted (`--json` lists them all). */
const PODS_SHOWN_PER_CELL = 4;

/** A dry run's plan as lines of text: what changes, the groups with their pods per cell, the gates, deadlines. Pure. */
export function renderPlan(p: PlanPreview & { inFlight?: { runId: string } }): string[] {
  const s = p.strategy;
  const clusters = new Set(p.cells.map((c) => c.cluster));
  const lines = [
    `plan for ${p.tenant}/${p.app}: revision ${p.from ?? '-'} → ${p.to}, ${p.pods} pods in ${p.cells.length} cells ` +
      `(${clusters.size} cluster${clusters.size === 1 ? '' : 's'}), ${p.groups.length} group${p.groups.length === 1 ? '' : 's'}; ` +
      `${s.mode}, ${p.mode} mode`,
  ];
  lines.push(p.from === undefined ? '  changes: first release' : `  changes ${p.from} → ${p.to}:`);
  if (p.from !== undefined) lines.push(...renderChanges(p.diff.changes).map((l) => `  ${l}`));
  for (const g of p.groups) {
    lines.push(`  group ${g.index}${g.beta ? ' (beta)' : ''}: ${g.size} pod${g.size === 1 ? '' : 's'}`);
    for (const [cell, pods] of Object.entries(g.cells)) {
      const more = pods.length > PODS_SHOWN_PER_CELL ? ` … ${pods.length - PODS_SHOWN_PER_CELL} more` : '';
      lines.push(`    ${cell}: ${pods.slice(0, PODS_SHOWN_PER_CELL).join(' ')}${more}`);
    }
    const gate = p.gates.find((x) => x.afterGroup === g.index);
    if (gate) lines.push(`    then ${gateLine(gate)}`);
  }
  const traffic = p.deadlines.trafficComponents.map((c) => `${c.name} ${c.deregistrationTimeoutSeconds}s`).join(', ');
  lines.push(
    `  deadlines: each pod step ${p.deadlines.podTimeoutSeconds}s${traffic ? `; traffic components ${traffic}` : ''}` +
      `${p.deadlines.gateTimeoutSeconds !== undefined ? `; gate ${p.deadlines.gateTimeoutSeconds}s` : ''}`,
  );
  lines.push(
    `  at most ${s.maxConcurrentPods} pods at once${p.budget ? `, ${p.budget.maxUnavailable} unavailable in all` : ''}; on failure: ${s.onFailure}`,
  );
  for (const n of p.notices) lines.push(`  note: ${n}`);
  lines.push('dry run: nothing was started or changed');
  return lines;
}

function gateLine(g: GatePreview): string {
  const checks = g.checks?.length ? `, checks ${g.checks.map((c) => `${c.name} (${c.type})`).join(', ')}` : '';
  if (g.type === 'timed') return `gate timed: waits ${g.seconds}s`;
  if (g.type === 'auto') return `gate auto: stable for ${g.windowSeconds}s within ${g.timeoutSeconds}s${checks}; failing: ${g.onFailure}`;
  const within = g.timeoutSeconds !== undefined ? ` within ${g.timeoutSeconds}s (else pauses)` : ' (waits as long as it takes)';
  return `gate manual: approval${within}${checks ? `${checks} first; failing: ${g.onFailure}` : ''}`;
}

function renderChanges(changes: RevisionDiff['changes']): string[] {
  return changes.length ? changes.map((c) => `  ${c.text}`) : ['  no changes'];
}

/** `app diff` as lines: a header, then one line per change. */
export function renderDiff(d: RevisionDiff, ref: string): string[] {
  return [
    `${ref}: revision ${d.from} → ${d.to}, ${d.changes.length} change${d.changes.length === 1 ? '' : 's'}`,
    ...renderChanges(d.changes),
  ];
}
