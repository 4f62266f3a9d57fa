import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { CliError } from './api-client.js';

/**
 * Flags of `release start` and `release plan`: every field of the request body and of its strategy. Each flag is
 * read by a zod schema of its own, so a value of the wrong form is refused naming the flag before anything is sent;
 * limits and what only the API can judge (more groups than pods, groups and groupSizes both in the file) come back
 * as its 400, each field annotated with the flag that set it (annotateIssues).
 */
export interface ReleaseFlags {
  file?: string;
  revision?: string;
  groups?: string;
  groupSizes?: string;
  beta?: string;
  maxConcurrent?: string;
  podTimeout?: string;
  onFailure?: string;
  maxUnavailable?: string;
  gate?: string;
  gateTimeout?: string;
  gateWindow?: string;
  gateSeconds?: string;
  mode?: string;
  mask?: string;
  maskClusters?: string;
  reason?: string;
  queue?: boolean;
  disaster?: boolean;
}

/** Registers the flags on a command (`release start`, `release plan`). */
export function addReleaseFlags(cmd: Command): Command {
  return cmd
    .option(
      '-f, --file <file>',
      'the whole request body as YAML or JSON (revision, mask, strategy with gate checks, ...); flags override it',
    )
    .option('--revision <n>', 'target revision (default: latest)')
    .option('--groups <n>', 'number of groups after the beta group')
    .option('--group-sizes <sizes>', 'comma-separated group sizes, pod counts or percentages of the pods in scope: 1,25%,50%')
    .option('--beta <kind>', 'a first group of one pod per cell (per-cell), one pod in all (single), or none')
    .option('--max-concurrent <n>', 'pods changing at once within a group (default 10)')
    .option('--pod-timeout <duration>', 'deadline of each pod step, e.g. 300, 90s, 5m (default 300s)')
    .option('--on-failure <action>', 'what a failed pod or gate does: pause (default) or rollback')
    .option('--max-unavailable <n|p%>', "pods of the App that may be unavailable at once, a count or a share of the App's pods")
    .option('--gate <type>', 'gate between groups: manual (default), auto or timed')
    .option('--gate-timeout <duration>', 'manual: pause when not approved within it; auto: the group must be stable within it')
    .option('--gate-window <duration>', 'auto: how long the group must stay Ready without restarts (default 30s)')
    .option('--gate-seconds <duration>', 'timed: the pause between groups (auto: the same as --gate-window)')
    .option('--mode <mode>', 'how a pod changes: in-place (default) or recreate')
    .option('--mask <cells>', 'comma-separated cells this release may change')
    .option('--mask-clusters <clusters>', 'comma-separated clusters whose placement cells this release may change')
    .option('--reason <text>', 'why (recorded)')
    .option('--queue', 'if a release of the App is in flight, queue this one behind it instead of being refused')
    .option('--disaster', 'disaster mode: skip the cells of clusters that cannot be reached into the ledger instead of pausing');
}

// Flags check the form of a value only; its limits (at least 1 group, at most 7 days, ...) are the API's schema's,
// whose 400 names the field and the flag.
const wholeNumber = z.string().regex(/^\d+$/, 'must be a whole number').transform(Number);

/** Seconds: `300`, `300s`, `5m`, `1h`, `1m30s`. */
const duration = z
  .string()
  .regex(/^(\d+(\.\d+)?|(\d+h)?(\d+m)?(\d+(\.\d+)?s)?)$/, 'must be a duration: seconds (300) or with units (90s, 5m, 1h, 1m30s)')
  .refine((s) => s !== '', 'must be a duration: seconds (300) or with units (90s, 5m, 1h, 1m30s)')
  .transform(toSeconds);

const countOrShare = z.string().regex(/^(\d+|\d+(\.\d+)?%)$/, 'must be a pod count (3) or a percentage (25%)');
const asSize = (s: string) => (s.endsWith('%') ? s : Number(s));
const list = z
  .string()
  .transform((s) => s.split(',').map((x) => x.trim()))
  .refine((xs) => xs.every((x) => x !== ''), 'must be a comma-separated list without empty entries');

/** One schema per flag: what it accepts and what it becomes. */
const FLAGS = {
  revision: wholeNumber,
  groups: wholeNumber,
  groupSizes: list.pipe(z.array(countOrShare)).transform((xs) => xs.map(asSize)),
  beta: z.enum(['per-cell', 'single', 'none'], { error: 'must be per-cell, single or none' }),
  maxConcurrent: wholeNumber,
  podTimeout: duration,
  onFailure: z.enum(['pause', 'rollback'], { error: 'must be pause or rollback' }),
  maxUnavailable: countOrShare.transform(asSize),
  gate: z.enum(['manual', 'auto', 'timed'], { error: 'must be manual, auto or timed' }),
  gateTimeout: duration,
  gateWindow: duration,
  gateSeconds: duration,
  mode: z.enum(['in-place', 'recreate'], { error: 'must be in-place or recreate (disaster mode is --disaster)' }),
  mask: list,
  maskClusters: list,
  reason: z.string().min(1, 'must not be empty').max(1000),
} satisfies Partial<Record<keyof ReleaseFlags, z.ZodType>>;

type Parsed = { [K in keyof typeof FLAGS]?: z.output<(typeof FLAGS)[K]> };

/** `--group-sizes` for `groupSizes`. */
export function flagName(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** Every given flag through its schema; the first bad one is refused naming it, its value and what it accepts. */
function parseFlags(flags: ReleaseFlags): Parsed {
  const parsed: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(FLAGS)) {
    const raw = flags[key as keyof ReleaseFlags];
    if (raw === undefined) continue;
    const result = (schema as z.ZodType).safeParse(raw);
    if (!result.success) throw new CliError(`${flagName(key)} "${String(raw)}": ${result.error.issues[0]?.message ?? 'invalid'}`);
    parsed[key] = result.data;
  }
  return parsed as Parsed;
}

/** The request body a file gives: YAML or JSON, an object; `app`/`tenant` only if they name the App of the command. */
export function parseReleaseFile(name: string, text: string, app: { tenant: string; app: string }): Record<string, unknown> {
  let body: unknown;
  try {
    body = parseYaml(text);
  } catch (err) {
    throw new CliError(`${name}: not YAML or JSON: ${(err as Error).message}`);
  }
  if (body === null || body === undefined) return {};
  if (typeof body !== 'object' || Array.isArray(body))
    throw new CliError(`${name}: must hold the request body as an object (revision, strategy, ...)`);
  const { app: fileApp, tenant, ...rest } = body as Record<string, unknown>;
  if (fileApp !== undefined && fileApp !== app.app)
    throw new CliError(`${name}: app "${String(fileApp)}" is not the App of the command (${app.app})`);
  if (tenant !== undefined && tenant !== app.tenant)
    throw new CliError(`${name}: tenant "${String(tenant)}" is not the tenant of the command (${app.tenant})`);
  if ('requestedBy' in rest) throw new CliError(`${name}: requestedBy is not given: the API records the identity of your token`);
  if ('dryRun' in rest) throw new CliError(`${name}: dryRun is not part of a request file: use \`barista release plan\` for a dry run`);
  return rest;
}

type Body = Record<string, unknown> & { strategy?: Record<string, unknown> };

/**
 * The request body: the file's (if any), each given flag over it. `--groups` replaces the file's groupSizes and
 * `--group-sizes` its groups; `--gate` of another type than the file's replaces its gate (checks included), of the
 * same type keeps it and sets what the gate flags say. A gate flag that does not fit the gate is refused naming both.
 */
export function releaseBody(flags: ReleaseFlags, file: Record<string, unknown> = {}): Body {
  const f = parseFlags(flags);
  if (f.groups !== undefined && f.groupSizes !== undefined) throw new CliError('--groups and --group-sizes: give one of them, not both');
  const body: Body = { ...file };
  const fileStrategy = file.strategy;
  if (fileStrategy !== undefined && (typeof fileStrategy !== 'object' || fileStrategy === null || Array.isArray(fileStrategy)))
    throw new CliError(`${flags.file ?? 'the file'}: strategy must be an object`);
  const strategy: Record<string, unknown> = { ...(fileStrategy as Record<string, unknown> | undefined) };
  if (f.revision !== undefined) body.revision = f.revision;
  if (f.reason !== undefined) body.reason = f.reason;
  if (flags.queue) body.queue = true;
  if (flags.disaster) body.mode = 'disaster';
  if (f.mask || f.maskClusters)
    body.mask = { ...(f.mask ? { cells: f.mask } : {}), ...(f.maskClusters ? { clusters: f.maskClusters } : {}) };
  if (f.groups !== undefined) {
    delete strategy.groupSizes;
    strategy.groups = f.groups;
  }
  if (f.groupSizes !== undefined) {
    delete strategy.groups;
    strategy.groupSizes = f.groupSizes;
  }
  if (f.beta !== undefined) strategy.beta = f.beta;
  if (f.maxConcurrent !== undefined) strategy.maxConcurrentPods = f.maxConcurrent;
  if (f.podTimeout !== undefined) strategy.podTimeoutSeconds = f.podTimeout;
  if (f.onFailure !== undefined) strategy.onFailure = f.onFailure;
  if (f.maxUnavailable !== undefined) strategy.maxUnavailable = f.maxUnavailable;
  if (f.mode !== undefined) strategy.mode = f.mode;
  const gate = gateOf(f, strategy.gate);
  if (gate) strategy.gate = gate;
  if (Object.keys(strategy).length || fileStrategy !== undefined) body.strategy = strategy;
  return body;
}

/** The gate the flags make of the file's gate (undefined: neither says anything). */
function gateOf(f: Parsed, fileGate: unknown): Record<string, unknown> | undefined {
  const given = fileGate && typeof fileGate === 'object' && !Array.isArray(fileGate) ? (fileGate as Record<string, unknown>) : undefined;
  const touched = f.gate ?? f.gateTimeout ?? f.gateWindow ?? f.gateSeconds;
  if (touched === undefined) return given;
  const type = f.gate ?? (typeof given?.type === 'string' ? given.type : 'manual');
  const gate: Record<string, unknown> = given && given.type === type ? { ...given } : { type };
  const misfit = (flag: string, why: string) =>
    new CliError(`${flag}: ${why} (the gate is ${type}${f.gate ? '' : given ? ' in the file' : ' by default'})`);
  if (type === 'timed') {
    if (f.gateTimeout !== undefined) throw misfit('--gate-timeout', 'a timed gate has no timeout; --gate-seconds is its pause');
    if (f.gateWindow !== undefined) throw misfit('--gate-window', 'only an auto gate has a verification window');
    if (f.gateSeconds !== undefined) gate.seconds = f.gateSeconds;
    if (gate.seconds === undefined) throw misfit('--gate timed', 'a timed gate needs its pause: give --gate-seconds');
    return gate;
  }
  if (f.gateTimeout !== undefined) gate.timeoutSeconds = f.gateTimeout;
  if (type === 'manual') {
    if (f.gateWindow !== undefined) throw misfit('--gate-window', 'only an auto gate has a verification window');
    if (f.gateSeconds !== undefined) throw misfit('--gate-seconds', 'only a timed gate pauses for a time (an auto gate: its window)');
    return gate;
  }
  if (f.gateWindow !== undefined && f.gateSeconds !== undefined)
    throw new CliError('--gate-window and --gate-seconds: for an auto gate both set its window; give one');
  const window = f.gateWindow ?? f.gateSeconds;
  if (window !== undefined) gate.windowSeconds = window;
  return gate;
}

/** Body fields the flags set, to name the flag beside the API's 400 for that field. */
const FIELD_FLAGS: [RegExp, string][] = [
  [/^revision$/, '--revision'],
  [/^strategy\.groups$/, '--groups'],
  [/^strategy\.groupSizes/, '--group-sizes'],
  [/^strategy\.beta$/, '--beta'],
  [/^strategy\.maxConcurrentPods$/, '--max-concurrent'],
  [/^strategy\.podTimeoutSeconds$/, '--pod-timeout'],
  [/^strategy\.onFailure$/, '--on-failure'],
  [/^strategy\.maxUnavailable$/, '--max-unavailable'],
  [/^strategy\.gate\.timeoutSeconds$/, '--gate-timeout'],
  [/^strategy\.gate\.windowSeconds$/, '--gate-window'],
  [/^strategy\.gate\.seconds$/, '--gate-seconds'],
  [/^strategy\.gate/, '--gate'],
  [/^strategy\.mode$/, '--mode'],
  [/^mask\.cells/, '--mask'],
  [/^mask\.clusters/, '--mask-clusters'],
  [/^mask$/, '--mask'],
  [/^reason$/, '--reason'],
];

/** The flag that sets a body field (`strategy.groupSizes[1]` → `--group-sizes`), if one does. */
export function flagOfField(field: string): string | undefined {
  return FIELD_FLAGS.find(([pattern]) => pattern.test(field.replace(/^body\./, '')))?.[1];
}

/**
 * A 400 of the API with each field's flag named: `strategy.groups: must be at least 1 (--groups)`, or `(release.yaml)`
 * for a field only the file gave.
 */
export function annotateIssues(err: unknown, flags: ReleaseFlags): unknown {
  if (!(err instanceof CliError) || !err.issues?.length) return err;
  const given = new Set(Object.entries(flags).flatMap(([k, v]) => (v === undefined ? [] : [flagName(k)])));
  const lines = err.issues.map((i) => {
    const flag = flagOfField(i.field);
    const source = flag && given.has(flag) ? flag : flags.file;
    return `\n  ${i.field}: ${i.message}${source ? ` (${source})` : ''}`;
  });
  return new CliError(`${err.message.split('\n')[0]}${lines.join('')}`, err.exitCode, err.issues);
}

function toSeconds(s: string): number {
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s);
  const part = (unit: string) => Number(new RegExp(`(\\d+(?:\\.\\d+)?)${unit}`).exec(s)?.[1] ?? 0);
  return part('h') * 3600 + part('m') * 60 + part('s');
}
