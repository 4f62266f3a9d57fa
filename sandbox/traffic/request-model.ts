import { z } from 'zod';
import { describeIssues, toFieldIssues } from '../../domain/validation.js';
import { SandboxError } from '../errors.js';

/** Every simulated request fails with this probability, fault or not (a healthy service is not perfect). */
export const BASE_ERROR_RATIO = 0.001;
/** Simulated latency of a healthy request: log-normal with this median and sigma (of the log). */
export const LATENCY_MEDIAN_SECONDS = 0.025;
export const LATENCY_SIGMA = 0.35;

/** "Revision X of app Y answers N % errors and takes M ms longer", in one namespace or (without one) in all. */
export interface RevisionFault {
  namespace?: string;
  app: string;
  /** The pods' `barista.dev/revision` label (a release's revision number). */
  revision: string;
  /** Added to the base error probability (0.1 %): 0..100. */
  errorPercent: number;
  /** Added to every request's latency: 0..60000. */
  latencyMs: number;
}

export type RevisionFaultInput = {
  namespace?: string | undefined;
  app: string;
  revision: string | number;
  errorPercent?: number | undefined;
  latencyMs?: number | undefined;
};

export type RevisionFaultTarget = Pick<RevisionFaultInput, 'namespace' | 'app' | 'revision'>;

const name = z.string().min(1).max(253);
const revision = z.union([z.string().min(1).max(63), z.number().int().nonnegative()]).transform(String);

export const RevisionFaultSchema = z
  .strictObject({
    namespace: name.optional(),
    app: name,
    revision,
    errorPercent: z.number().min(0).max(100).optional(),
    latencyMs: z.number().min(0).max(60_000).optional(),
  })
  .refine((f) => f.errorPercent !== undefined || f.latencyMs !== undefined, {
    message: 'give errorPercent (0..100) or latencyMs (0..60000), or both',
    path: ['errorPercent'],
  });

export const RevisionFaultTargetSchema = z.strictObject({ namespace: name.optional(), app: name, revision });

function parse<T>(schema: z.ZodType<T>, input: unknown, what: string): T {
  const result = schema.safeParse(input);
  if (!result.success) throw new SandboxError('INVALID_INPUT', `invalid ${what}: ${describeIssues(toFieldIssues(result.error))}`);
  return result.data;
}

const ANY_NAMESPACE = '*';
const keyOf = (namespace: string | undefined, app: string, rev: string) => `${namespace ?? ANY_NAMESPACE}\u0000${app}\u0000${rev}`;

/**
 * The revision faults in force. A fault naming a namespace applies there only and wins over one without, which
 * applies in every namespace.
 */
export class RevisionFaults {
  private readonly faults = new Map<string, RevisionFault>();

  set(input: RevisionFaultInput): RevisionFault {
    const f = parse(RevisionFaultSchema, input, 'revision fault');
    const fault: RevisionFault = {
      ...(f.namespace !== undefined ? { namespace: f.namespace } : {}),
      app: f.app,
      revision: f.revision,
      errorPercent: f.errorPercent ?? 0,
      latencyMs: f.latencyMs ?? 0,
    };
    this.faults.set(keyOf(fault.namespace, fault.app, fault.revision), fault);
    return fault;
  }

  /** Removes the fault set for exactly this target (same namespace or none); an unknown one is an error. */
  clear(input: RevisionFaultTarget): RevisionFault {
    const t = parse(RevisionFaultTargetSchema, input, 'revision fault target');
    const key = keyOf(t.namespace, t.app, t.revision);
    const fault = this.faults.get(key);
    if (!fault) {
      const where = t.namespace === undefined ? 'every namespace' : `namespace ${t.namespace}`;
      const set = this.list().map(describe);
      throw new SandboxError(
        'UNKNOWN_TARGET',
        `no revision fault for app ${t.app} revision ${t.revision} in ${where}; set: ${set.length > 0 ? set.join(', ') : 'none'}`,
        { ...t },
      );
    }
    this.faults.delete(key);
    return fault;
  }

  /** The fault that applies to a pod of `app` at `revision` in `namespace`, if any. */
  lookup(namespace: string, app: string, rev: string): RevisionFault | undefined {
    if (this.faults.size === 0) return undefined;
    return this.faults.get(keyOf(namespace, app, rev)) ?? this.faults.get(keyOf(undefined, app, rev));
  }

  list(): RevisionFault[] {
    return [...this.faults.values()];
  }
}

function describe(f: RevisionFault): string {
  return `${f.namespace ?? '*'}/${f.app}@${f.revision}`;
}

/** A standard normal deviate (Box–Muller) from a uniform source on [0, 1). */
export function standardNormal(random: () => number): number {
  const u = 1 - random(); // (0, 1]: log(0) never happens
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** One request's simulated latency in seconds: log-normal (median 25 ms, sigma 0.35) plus the fault's latency. */
export function sampleLatencySeconds(random: () => number, extraMs = 0): number {
  return LATENCY_MEDIAN_SECONDS * Math.exp(LATENCY_SIGMA * standardNormal(random)) + extraMs / 1000;
}

/** Probability that one request fails: the base 0.1 % plus the fault's percentage, at most 1. */
export function errorProbability(fault: Pick<RevisionFault, 'errorPercent'> | undefined): number {
  return Math.min(1, BASE_ERROR_RATIO + (fault?.errorPercent ?? 0) / 100);
}

export interface SimulatedRequest {
  ok: boolean;
  latencySeconds: number;
}

/** Simulates `count` requests to one pod (no real waiting), under `fault` if one applies to the pod. */
export function simulateRequests(count: number, fault: RevisionFault | undefined, random: () => number = Math.random): SimulatedRequest[] {
  const pError = errorProbability(fault);
  const out: SimulatedRequest[] = [];
  for (let i = 0; i < count; i++) out.push({ ok: random() >= pError, latencySeconds: sampleLatencySeconds(random, fault?.latencyMs) });
  return out;
}

/**
 * How many requests a pod receives in `elapsedMs` at `perSecond`, carrying the fraction over to the next tick so
 * that the long-run rate is exact whatever the tick length.
 */
export function requestsDue(perSecond: number, elapsedMs: number, carry: number): { count: number; carry: number } {
  const due = (perSecond * elapsedMs) / 1000 + carry;
  const count = Math.floor(due);
  return { count, carry: due - count };
}
