import { z } from 'zod';
import { matchesPattern, metadataChanges, type MetadataPolicy } from './metadata-policy.js';
import { dnsLabel } from './names.js';

/**
 * Drift (docs/drift.md): what a cell's cluster shows that differs from the revision last released there. Pure
 * comparison and repair planning; the activities read the objects, the DriftRepair workflow repairs.
 */

/** An App's drift-repair settings (`drift` on the App spec). */
export const DriftSettingsSchema = z.strictObject({
  /** `repair` puts drift back; `report` only reports it. */
  mode: z.enum(['repair', 'report'], { error: 'must be repair or report' }).default('repair'),
  /**
   * Field paths never treated as drift, `*` matching any run of characters and a path also covering what is
   * under it: `spec.replicas`, `spec.template.spec.containers[name=istio-proxy]`, `spec.template.metadata.annotations[example.com/*]`.
   */
  ignore: z.array(z.string().min(1).max(300)).max(50).default([]),
  /**
   * Field managers whose changes are hand edits, put back like any drift (`*` wildcards). Every other manager
   * that owns a field (an HPA's replicas, a webhook's sidecar) is respected: its fields are not drift.
   */
  handEditManagers: z.array(z.string().min(1).max(128)).max(20).default(['kubectl', 'kubectl-*']),
  /** Pods repaired per run at most; more wait for the next run. */
  maxPodsPerRun: z.number().int().min(1).max(1000).default(5),
  /** A field repaired this many runs in a row and found drifted again is quarantined (reported, left alone). */
  quarantineAfter: z.number().int().min(1).max(100).default(3),
});
export type DriftSettings = z.output<typeof DriftSettingsSchema>;

/** A drift run's input, however it was started (Schedule, API, `temporal workflow start` by hand). */
export const DriftRunInputSchema = z.strictObject({
  tenant: dnsLabel,
  dryRun: z.boolean().optional(),
  apps: z.array(dnsLabel).max(10_000).optional(),
  by: z.string().min(1).max(200).optional(),
});

export const DEFAULT_DRIFT_SETTINGS: DriftSettings = DriftSettingsSchema.parse({});

/** One field that differs: what the release recorded (`expected`) and what the cluster shows (`actual`). */
export interface FieldDrift {
  field: string;
  expected?: string;
  actual?: string;
}

/** A container as both sides describe it. */
export interface ContainerShape {
  name: string;
  image?: string;
  env?: { name: string; value?: string }[];
}

/** A workload's template and replicas, as the revision wants them or as the cluster shows them. */
export interface WorkloadShape {
  replicas?: number;
  containers: ContainerShape[];
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
}

/** A managedFields entry of a Kubernetes object (only what ownership needs). */
export interface ManagedFieldsEntry {
  manager?: string;
  fieldsV1?: object;
}

export interface DiffOptions {
  policy?: MetadataPolicy;
  settings: Pick<DriftSettings, 'ignore' | 'handEditManagers'>;
  /** Barista's own field manager. */
  manager: string;
}

/**
 * The fields of the workload that differ from what the revision wants, one entry per field: replicas, each
 * declared container's image and env, the template's annotations and labels the App sets (and those its policy
 * calls Barista's that linger). A field that another field manager owns (not Barista, not a hand edit) is
 * that manager's and not drift; so is a field the App ignores. Containers and keys the revision does not
 * declare (a webhook's sidecar) are never drift.
 */
export function workloadDrift(
  desired: WorkloadShape,
  actual: WorkloadShape,
  managed: ManagedFieldsEntry[],
  opts: DiffOptions,
): FieldDrift[] {
  const owners = fieldOwners(managed);
  const found: FieldDrift[] = [];
  const add = (field: string, expected: string | undefined, actual: string | undefined) => {
    if (expected === actual || ignored(field, opts.settings.ignore)) return;
    if (ownedByAnother(owners.get(field), opts)) return;
    found.push({ field, ...(expected !== undefined ? { expected } : {}), ...(actual !== undefined ? { actual } : {}) });
  };
  add('spec.replicas', str(desired.replicas), str(actual.replicas));
  for (const f of containerDrift(desired.containers, actual.containers, 'spec.template.spec.containers'))
    add(f.field, f.expected, f.actual);
  for (const f of metadataDrift(desired, actual, opts.policy, 'spec.template.metadata')) add(f.field, f.expected, f.actual);
  return found;
}

/** The declared containers' images and env that differ (a missing container is one finding). */
export function containerDrift(desired: ContainerShape[], actual: ContainerShape[], at: string): FieldDrift[] {
  const found: FieldDrift[] = [];
  for (const want of desired) {
    const path = `${at}[name=${want.name}]`;
    const have = actual.find((c) => c.name === want.name);
    if (!have) {
      found.push({ field: path, expected: want.image });
      continue;
    }
    if (have.image !== want.image) found.push({ field: `${path}.image`, ...opt('expected', want.image), ...opt('actual', have.image) });
    const envOf = (c: ContainerShape) => new Map((c.env ?? []).map((e) => [e.name, e.value ?? '']));
    const wantEnv = envOf(want);
    const haveEnv = envOf(have);
    for (const [name, value] of wantEnv)
      if (haveEnv.get(name) !== value)
        found.push({ field: `${path}.env[name=${name}].value`, expected: value, ...opt('actual', haveEnv.get(name)) });
    for (const [name, value] of haveEnv) if (!wantEnv.has(name)) found.push({ field: `${path}.env[name=${name}].value`, actual: value });
  }
  return found;
}

/** Annotations and labels the App sets that differ, and keys its policy calls Barista's that it no longer sets. */
export function metadataDrift(
  desired: Pick<WorkloadShape, 'annotations' | 'labels'>,
  actual: Pick<WorkloadShape, 'annotations' | 'labels'>,
  policy: MetadataPolicy | undefined,
  at: string,
): FieldDrift[] {
  const found: FieldDrift[] = [];
  for (const kind of ['annotations', 'labels'] as const) {
    const changes = metadataChanges(actual[kind], desired[kind] ?? {}, policy);
    for (const [key, value] of Object.entries(changes))
      found.push({ field: `${at}.${kind}[${key}]`, ...opt('expected', value ?? undefined), ...opt('actual', actual[kind]?.[key]) });
  }
  return found;
}

/** The field matches one of the App's ignore patterns, or lies under one. */
export function ignored(field: string, patterns: readonly string[]): boolean {
  return patterns.some((p) => matchesPattern(field, p) || matchesPattern(field, `${p}.*`) || matchesPattern(field, `${p}[*`));
}

function ownedByAnother(owners: string[] | undefined, opts: DiffOptions): boolean {
  if (!owners?.length || owners.includes(opts.manager)) return false;
  return !owners.every((m) => opts.settings.handEditManagers.some((p) => matchesPattern(m, p)));
}

/**
 * Who owns which field, from managedFields (fieldsV1), in the notation of FieldDrift.field: `f:spec` → `spec`,
 * `k:{"name":"app"}` → `[name=app]`, a key under annotations/labels → `[key]`.
 */
export function fieldOwners(managed: ManagedFieldsEntry[]): Map<string, string[]> {
  const owners = new Map<string, string[]>();
  const walk = (node: object, path: string, keyed: boolean, manager: string) => {
    for (const [key, child] of Object.entries(node)) {
      if (key === '.') continue;
      let next: string;
      if (key.startsWith('f:')) {
        const name = key.slice(2);
        next = keyed ? `${path}[${name}]` : path ? `${path}.${name}` : name;
      } else if (key.startsWith('k:')) {
        next = `${path}[${keyOf(key.slice(2))}]`;
      } else continue;
      const list = owners.get(next) ?? [];
      if (!list.includes(manager)) list.push(manager);
      owners.set(next, list);
      if (child && typeof child === 'object') walk(child, next, key === 'f:annotations' || key === 'f:labels', manager);
    }
  };
  for (const entry of managed) if (entry.fieldsV1 && entry.manager) walk(entry.fieldsV1, '', false, entry.manager);
  return owners;
}

/** `{"name":"app"}` → `name=app` (list items keyed by their merge key). */
function keyOf(json: string): string {
  try {
    const parsed = JSON.parse(json) as Record<string, unknown>;
    return Object.entries(parsed)
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(',');
  } catch {
    return json;
  }
}

function str(n: number | undefined): string | undefined {
  return n === undefined ? undefined : String(n);
}

function opt<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return (value === undefined ? {} : { [key]: value }) as Partial<Record<K, string>>;
}

// ---- pods

/** A pod as drift repair reads it. */
export interface PodShape {
  name: string;
  revisionLabel?: string;
  containers: ContainerShape[];
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
  finalizers: string[];
  terminatingSince?: string;
  /** The traffic gate: status and reason (absent: no condition). */
  gate?: { status: string; reason?: string };
  /** Containers ready, and since when (ContainersReady's last transition). */
  readySince?: string;
}

/** What brings a pod back: the release's per-pod protocol, a metadata write, or lifting stale finalizers. */
export type PodRepair = 'release' | 'metadata' | 'unblock';

export interface PodDrift {
  pod: string;
  repair: PodRepair;
  fields: FieldDrift[];
}

export interface PodExpectations {
  revision: number;
  containers: ContainerShape[];
  annotations: Record<string, string>;
  labels: Record<string, string>;
  policy?: MetadataPolicy;
  /** Finalizers of the App's traffic components, with each one's deregistration timeout. */
  traffic: { finalizer: string; timeoutSeconds: number }[];
  gateCondition: string;
  drainingReason: string;
  /** How long a ready pod may wait for the gate keeper to open it before that is drift. */
  graceSeconds: number;
  now: number;
}

/**
 * How a pod differs from the revision recorded for its cell, and what brings it back. Called only when no
 * release of the App is in flight: a drained pod is then one an abandoned release left behind.
 */
export function podDrift(pod: PodShape, want: PodExpectations, ignore: readonly string[]): PodDrift | undefined {
  const keep = (f: FieldDrift) => !ignored(f.field, ignore);
  if (pod.terminatingSince) {
    // a terminating pod still holding traffic finalizers past every component's timeout: nobody will let go
    const overdue =
      Date.parse(pod.terminatingSince) + Math.max(0, ...want.traffic.map((t) => t.timeoutSeconds)) * 1000 + want.graceSeconds * 1000;
    const left = want.traffic.filter((t) => pod.finalizers.includes(t.finalizer));
    if (!left.length || want.now < overdue) return undefined;
    const fields = left.map((t) => ({ field: `metadata.finalizers[${t.finalizer}]`, actual: 'present on a terminating pod' })).filter(keep);
    return fields.length ? { pod: pod.name, repair: 'unblock', fields } : undefined;
  }
  const release: FieldDrift[] = [];
  if (pod.revisionLabel !== String(want.revision))
    release.push({ field: 'metadata.labels[barista.dev/revision]', expected: String(want.revision), ...opt('actual', pod.revisionLabel) });
  release.push(...containerDrift(want.containers, pod.containers, 'spec.containers').filter((f) => !f.field.includes('.env[')));
  const ready = pod.readySince !== undefined && want.now - Date.parse(pod.readySince) >= want.graceSeconds * 1000;
  const gate = `status.conditions[${want.gateCondition}]`;
  if (pod.gate?.status === 'False' && pod.gate.reason === want.drainingReason)
    release.push({ field: gate, expected: 'True', actual: `False (${want.drainingReason}: left drained, no release in flight)` });
  else if (ready && pod.gate?.status !== 'True')
    release.push({ field: gate, expected: 'True', ...opt('actual', pod.gate?.status ?? 'missing') });
  // a pod that serves (gate open, containers ready for a while) and that a component does not route to; a pod
  // just restarted has lost its finalizers for good reason (not ready: no component routes to it)
  if (pod.gate?.status === 'True' && ready)
    for (const t of want.traffic)
      if (!pod.finalizers.includes(t.finalizer))
        release.push({ field: `metadata.finalizers[${t.finalizer}]`, expected: 'present on a serving pod' });
  const kept = release.filter(keep);
  if (kept.length) return { pod: pod.name, repair: 'release', fields: kept };
  const metadata = metadataDrift(want, pod, want.policy, 'metadata').filter(keep);
  return metadata.length ? { pod: pod.name, repair: 'metadata', fields: metadata } : undefined;
}

// ---- repair planning

/** Consecutive runs each field (by driftKey) was repaired in: the memory quarantine is decided from. */
export type DriftMemory = Record<string, number>;

export function driftKey(cell: string, object: string, field: string): string {
  return `${cell}|${object}|${field}`;
}

/** A thing one repair puts back (a workload, or a pod), with the fields it covers. */
export interface RepairUnit {
  cell: string;
  object: string;
  fields: FieldDrift[];
  /** Pods count against maxPodsPerRun; a workload does not. */
  pod: boolean;
}

export type UnitDecision =
  | { unit: RepairUnit; action: 'repair' }
  | { unit: RepairUnit; action: 'report'; outcome: 'found' | 'quarantined' | 'deferred'; reason?: string };

/**
 * Which units this run repairs: none in a dry run or report mode; a unit with a field repaired
 * `quarantineAfter` runs in a row is quarantined (left alone, with a hint to ignore it); pods beyond
 * `maxPodsPerRun` wait for the next run.
 */
export function decideRepairs(
  units: RepairUnit[],
  memory: DriftMemory,
  opts: { dryRun: boolean; settings: Pick<DriftSettings, 'mode' | 'maxPodsPerRun' | 'quarantineAfter'> },
): UnitDecision[] {
  let pods = 0;
  return units.map((unit) => {
    const stuck = unit.fields.find((f) => (memory[driftKey(unit.cell, unit.object, f.field)] ?? 0) >= opts.settings.quarantineAfter);
    if (stuck)
      return {
        unit,
        action: 'report',
        outcome: 'quarantined',
        reason: `${stuck.field} drifted again after ${opts.settings.quarantineAfter} repairs in a row; not repaired again (if another controller owns it, add it to the App's drift.ignore)`,
      };
    if (opts.dryRun) return { unit, action: 'report', outcome: 'found', reason: 'dry run' };
    if (opts.settings.mode === 'report') return { unit, action: 'report', outcome: 'found', reason: "the App's drift.mode is report" };
    if (unit.pod && pods >= opts.settings.maxPodsPerRun)
      return { unit, action: 'report', outcome: 'deferred', reason: `over this run's ${opts.settings.maxPodsPerRun} pods; next run` };
    if (unit.pod) pods++;
    return { unit, action: 'repair' };
  });
}

/**
 * The memory after a run: fields repaired count one more; fields still drifted but not repaired (quarantined,
 * deferred, failed) keep their count; fields no longer drifted are forgotten (the streak is broken).
 */
export function nextMemory(memory: DriftMemory, found: { key: string; repaired: boolean }[]): DriftMemory {
  const next: DriftMemory = {};
  for (const { key, repaired } of found) next[key] = (memory[key] ?? 0) + (repaired ? 1 : 0);
  for (const [key, n] of Object.entries(next)) if (n === 0) delete next[key];
  return next;
}
