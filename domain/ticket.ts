import { z } from 'zod';
import { DomainError } from './errors.js';
import { dnsLabel } from './names.js';
import { MaskSchema } from './placement.js';
import { StrategySchema } from './strategy.js';
import { toFieldIssues, type FieldIssue } from './validation.js';

/**
 * A release ticket (docs/tickets.md): several Apps of one tenant released in dependency order, each through its
 * own App release. An entry starts once every App it depends on has succeeded; entries with nothing between them
 * run in parallel, at most `maxParallel` at once.
 */
export const TicketEntrySchema = z.strictObject({
  app: dnsLabel,
  /** Default: the App's latest revision when its release starts. */
  revision: z.number().int('must be a whole revision number').positive('must be a revision number ≥ 1').optional(),
  strategy: StrategySchema.optional(),
  mask: MaskSchema.optional(),
  mode: z.enum(['normal', 'disaster'], { error: 'mode must be "normal" or "disaster"' }).optional(),
  /** Apps of this ticket that must have succeeded before this one starts. */
  dependsOn: z.array(dnsLabel).default([]),
});

export const TICKET_APPROVALS = ['none', 'before-start', 'per-app'] as const;
export const TICKET_ON_FAILURE = ['halt', 'rollback-released'] as const;
export const MAX_TICKET_ENTRIES = 100;

/** The fields of a ticket, each checked on its own (the API's body is this without the tenant). */
export const TicketSpecFields = z.strictObject({
  tenant: dnsLabel,
  title: z.string().trim().min(1, 'a ticket needs a title').max(200),
  reason: z.string().max(2000).optional(),
  entries: z.array(TicketEntrySchema).min(1, 'a ticket releases at least one app').max(MAX_TICKET_ENTRIES),
  /** `before-start`: one approval of the whole ticket; `per-app`: each App's release waits for its own. */
  approval: z.enum(TICKET_APPROVALS, { error: `approval must be one of ${TICKET_APPROVALS.join(', ')}` }).default('none'),
  /** `halt`: a failed App blocks its dependents; `rollback-released`: the Apps already changed are rolled back too. */
  onFailure: z.enum(TICKET_ON_FAILURE, { error: `onFailure must be one of ${TICKET_ON_FAILURE.join(', ')}` }).default('halt'),
  maxParallel: z.number().int('must be a whole number').min(1, 'must be at least 1').max(50).default(4),
});

/** A ticket as a whole: its fields, then the rules across entries (apps once, dependencies inside, no cycle). */
export const TicketSpecSchema = TicketSpecFields.superRefine((spec, ctx) => {
  for (const issue of entryIssues(spec.entries)) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
});

export type TicketSpec = z.output<typeof TicketSpecSchema>;
export type TicketSpecInput = z.input<typeof TicketSpecSchema>;
export type TicketEntry = z.output<typeof TicketEntrySchema>;

export function parseTicketSpec(input: unknown): TicketSpec {
  const parsed = TicketSpecSchema.safeParse(input);
  if (!parsed.success) throw DomainError.invalid(toFieldIssues(parsed.error));
  return parsed.data;
}

/** An app twice, a dependency on an app not in the ticket or on itself, and dependency cycles (named). */
function entryIssues(entries: TicketEntry[]): { path: (string | number)[]; message: string }[] {
  const issues: { path: (string | number)[]; message: string }[] = [];
  const index = new Map<string, number>();
  entries.forEach((e, i) => {
    if (index.has(e.app))
      issues.push({ path: ['entries', i, 'app'], message: `app ${e.app} is in the ticket twice (entries[${index.get(e.app)}])` });
    else index.set(e.app, i);
  });
  entries.forEach((e, i) =>
    e.dependsOn.forEach((dep, j) => {
      if (dep === e.app) issues.push({ path: ['entries', i, 'dependsOn', j], message: `app ${e.app} cannot depend on itself` });
      else if (!index.has(dep))
        issues.push({
          path: ['entries', i, 'dependsOn', j],
          message: `app ${dep} is not in the ticket: a dependency must be one of its entries`,
        });
    }),
  );
  if (issues.length) return issues;
  const cycle = findCycle(entries);
  if (cycle) issues.push({ path: ['entries', index.get(cycle[0]!)!, 'dependsOn'], message: `dependency cycle: ${cycle.join(' → ')}` });
  return issues;
}

/** One dependency cycle as app names, first app repeated at the end, or undefined. */
export function findCycle(entries: Pick<TicketEntry, 'app' | 'dependsOn'>[]): string[] | undefined {
  const deps = new Map(entries.map((e) => [e.app, e.dependsOn]));
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const visit = (app: string): string[] | undefined => {
    if (state.get(app) === 'done') return undefined;
    if (state.get(app) === 'visiting') return [...path.slice(path.indexOf(app)), app];
    state.set(app, 'visiting');
    path.push(app);
    for (const dep of deps.get(app) ?? []) {
      const cycle = visit(dep);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(app, 'done');
    return undefined;
  };
  for (const e of entries) {
    const cycle = visit(e.app);
    if (cycle) return cycle;
  }
  return undefined;
}

/** The entries by level: level 0 depends on nothing, level n on something of level n-1 at most. */
export function ticketLevels(entries: Pick<TicketEntry, 'app' | 'dependsOn'>[]): string[][] {
  const level = new Map<string, number>();
  const deps = new Map(entries.map((e) => [e.app, e.dependsOn]));
  const levelOf = (app: string): number => {
    const known = level.get(app);
    if (known !== undefined) return known;
    const l = Math.max(-1, ...(deps.get(app) ?? []).map(levelOf)) + 1;
    level.set(app, l);
    return l;
  };
  const levels: string[][] = [];
  for (const e of entries) (levels[levelOf(e.app)] ??= []).push(e.app);
  return levels;
}

/** Field issues for apps the tenant does not have (the API looks each up before anything starts). */
export function unknownAppIssues(entries: Pick<TicketEntry, 'app'>[], known: (app: string) => boolean, tenant: string): FieldIssue[] {
  return entries.flatMap((e, i) =>
    known(e.app) ? [] : [{ field: `entries[${i}].app`, message: `app ${e.app} is not registered for tenant ${tenant}` }],
  );
}
