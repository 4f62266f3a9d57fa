import { z } from 'zod';
import { annotationsSchema, envSchema, labelsSchema, namespaceProblem } from './kube-names.js';
import { isReservedKey, matchesAny, MetadataPolicySchema, type MetadataPolicy } from './metadata-policy.js';
import { dnsLabel, imageRef } from './names.js';
import { PlacementSchema } from './placement.js';
import { DriftSettingsSchema } from './drift.js';

export const ContainerSchema = z.strictObject({
  name: dnsLabel,
  image: imageRef,
  env: envSchema.optional(),
});

export const TemplateSchema = z.strictObject({
  containers: z
    .array(ContainerSchema)
    .min(1, 'at least one container is needed')
    .refine((cs) => new Set(cs.map((c) => c.name)).size === cs.length, 'container names must be unique'),
  annotations: annotationsSchema.optional(),
  /** Labels of every pod (besides Barista's own); the workload's selector never includes them. */
  labels: labelsSchema.optional(),
});

export const CellOverrideSchema = z.strictObject({
  replicas: z.number().int().min(0).max(1000).optional(),
  env: envSchema.optional(),
  annotations: annotationsSchema.optional(),
});

/** Traffic components Barista knows; each holds the finalizer `traffic.barista.dev/<name>` while it routes to a pod. */
export const TRAFFIC_COMPONENTS = ['service', 'rpc', 'dns'] as const;
export type TrafficComponentName = (typeof TRAFFIC_COMPONENTS)[number];

export const TrafficComponentSchema = z.strictObject({
  name: z.enum(TRAFFIC_COMPONENTS, { error: `must be one of ${TRAFFIC_COMPONENTS.join(', ')}` }),
  /** How long the component may take to stop (or start) routing to a pod before the release pauses. */
  deregistrationTimeoutSeconds: z
    .number({ error: 'must be a number of seconds' })
    .positive('must be a positive duration in seconds')
    .max(3600)
    .default(60),
});

/**
 * The fields of an App spec, each checked on its own (no cross-field rules, so that it can be picked from:
 * the API's PUT body is this without name and tenant).
 */
export const AppSpecFields = z.strictObject({
  name: dnsLabel,
  tenant: dnsLabel,
  workspace: dnsLabel,
  /** Kubernetes namespace of the workloads in every cell; default `<tenant>-<workspace>`. */
  namespace: dnsLabel.optional(),
  template: TemplateSchema,
  replicasPerCell: z.number().int().min(1, 'must be at least 1').max(1000),
  placement: PlacementSchema,
  overrides: z.record(dnsLabel, CellOverrideSchema).default({}),
  /**
   * Overrides for every cell of a cluster (keyed by cluster). Precedence: a cell's own override over its cluster's
   * over the template, field by field (env and annotations merged key by key).
   */
  clusterOverrides: z.record(dnsLabel, CellOverrideSchema).optional(),
  /** Which annotation and label keys are Barista's (spec) and which it never touches (status): metadata-policy.ts. */
  metadataPolicy: MetadataPolicySchema.optional(),
  /** How drift repair treats this App (domain/drift.ts): what it ignores, how much it repairs per run. */
  drift: DriftSettingsSchema.optional(),
  /** Traffic components that route to this App's pods; a release waits for exactly these. */
  traffic: z
    .array(TrafficComponentSchema)
    .max(TRAFFIC_COMPONENTS.length)
    .default([])
    .superRefine((list, ctx) => {
      const seen = new Set<string>();
      list.forEach((c, i) => {
        if (seen.has(c.name))
          ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `traffic component "${c.name}" is declared twice` });
        seen.add(c.name);
      });
    }),
});

/**
 * What a person registers: an App and where it lives. Each change of template/overrides makes a new revision.
 * Beyond each field: overrides only for cells of the placement, and a namespace (given, or the default
 * `<tenant>-<workspace>`) that Kubernetes accepts and that is not one of its own (`kube-*`). These rules
 * apply to input only: App records kept by the entity workflows are never parsed again.
 */
export const AppSpecSchema = AppSpecFields.superRefine((spec, ctx) => {
  // a placement naming clusters has cells known only to the clusters: checked when the App is registered
  const byCellsOnly = !spec.placement.clusters?.length;
  for (const cell of Object.keys(spec.overrides))
    if (byCellsOnly && !spec.placement.cells.includes(cell))
      ctx.addIssue({
        code: 'custom',
        path: ['overrides', cell],
        message: `cell ${cell} is not in the placement (${spec.placement.cells.join(', ')}): overrides apply to placement cells only`,
      });
  for (const issue of metadataKeyIssues(spec)) ctx.addIssue({ code: 'custom', ...issue });
  const namespace = namespaceOf(spec);
  const problem = namespaceProblem(namespace);
  if (problem)
    ctx.addIssue({
      code: 'custom',
      path: ['namespace'],
      message: spec.namespace
        ? `namespace "${namespace}": ${problem}`
        : `the default namespace "${namespace}" (<tenant>-<workspace>) cannot be used: it ${problem}; set a namespace`,
    });
});

/**
 * Annotation and label keys the App sets that it may not: Barista's and Kubernetes' own, and keys its policy calls
 * status (never written by Barista).
 */
function metadataKeyIssues(spec: z.output<typeof AppSpecFields>): { path: (string | number)[]; message: string }[] {
  const sets: { path: (string | number)[]; keys: string[] }[] = [
    { path: ['template', 'annotations'], keys: Object.keys(spec.template.annotations ?? {}) },
    { path: ['template', 'labels'], keys: Object.keys(spec.template.labels ?? {}) },
    ...Object.entries(spec.overrides).map(([cell, o]) => ({
      path: ['overrides', cell, 'annotations'],
      keys: Object.keys(o.annotations ?? {}),
    })),
    ...Object.entries(spec.clusterOverrides ?? {}).map(([cluster, o]) => ({
      path: ['clusterOverrides', cluster, 'annotations'],
      keys: Object.keys(o.annotations ?? {}),
    })),
  ];
  return sets.flatMap(({ path, keys }) =>
    keys.flatMap((key) => {
      if (isReservedKey(key)) return [{ path: [...path, key], message: `"${key}" is kept by Barista or Kubernetes; an App cannot set it` }];
      const status = spec.metadataPolicy?.status.find((p) => matchesAny(key, [p]));
      return status
        ? [
            {
              path: [...path, key],
              message: `"${key}" matches status pattern "${status}" of metadataPolicy: Barista never writes status keys`,
            },
          ]
        : [];
    }),
  );
}

export type AppSpec = z.output<typeof AppSpecSchema>;
export type AppSpecInput = z.input<typeof AppSpecSchema>;
export type Template = z.output<typeof TemplateSchema>;
export type CellOverride = z.output<typeof CellOverrideSchema>;
export type TrafficComponent = z.output<typeof TrafficComponentSchema>;

/** Finalizer a traffic component holds on a pod while it routes to it. */
export function trafficFinalizer(component: string): string {
  return `traffic.barista.dev/${component}`;
}

/** An immutable, numbered snapshot of an App's template, replicas and per-cell (and per-cluster) overrides. */
export interface Revision {
  number: number;
  template: Template;
  replicasPerCell: number;
  overrides: Record<string, CellOverride>;
  /** Per cluster; absent in revisions made before cluster overrides (and when there are none). */
  clusterOverrides?: Record<string, CellOverride>;
  /** Which annotation and label keys are Barista's; absent in revisions made before the policy (and without one). */
  metadataPolicy?: MetadataPolicy;
  createdAt: string;
  createdBy: string;
}

export function namespaceOf(app: Pick<AppSpec, 'namespace' | 'tenant' | 'workspace'>): string {
  return app.namespace ?? `${app.tenant}-${app.workspace}`;
}

export function replicasIn(revision: Pick<Revision, 'replicasPerCell' | 'overrides'>, cell: string): number {
  return revision.overrides[cell]?.replicas ?? revision.replicasPerCell;
}

/**
 * The revision as the given cells need it: the template and only those cells' overrides. Activity inputs
 * carry this, not every cell's overrides (a release over hundreds of cells would repeat them in every pod step).
 */
export function revisionFor(revision: Revision, cells: Iterable<string>): Revision {
  const overrides: Record<string, CellOverride> = {};
  for (const cell of cells) if (revision.overrides[cell]) overrides[cell] = revision.overrides[cell];
  return { ...revision, overrides };
}

/** Name of the workload of (app, cell); its pods are `<workload>-<ordinal>`. */
export function workloadName(app: string, cell: string): string {
  return `${app}-${cell}`;
}

/** True when two revisions describe the same desired state (so a new revision is not needed). */
export function sameContent(
  a: Omit<Revision, 'number' | 'createdAt' | 'createdBy'>,
  b: Omit<Revision, 'number' | 'createdAt' | 'createdBy'>,
): boolean {
  // no cluster overrides, however spelled, is one content: revisions made before them compare as before
  const content = (r: typeof a) => [
    r.template,
    r.replicasPerCell,
    r.overrides,
    ...(nonEmpty(r.clusterOverrides) ? [r.clusterOverrides] : []),
    ...(r.metadataPolicy && (r.metadataPolicy.spec.length || r.metadataPolicy.status.length) ? [r.metadataPolicy] : []),
  ];
  return JSON.stringify(content(a)) === JSON.stringify(content(b));
}

function nonEmpty(record: Record<string, unknown> | undefined): record is Record<string, unknown> {
  return record !== undefined && Object.keys(record).length > 0;
}

/**
 * One override: `over` field by field on top of `under` (env and annotations merged key by key, `over` winning).
 */
function layered(under: CellOverride | undefined, over: CellOverride | undefined): CellOverride | undefined {
  if (!under) return over;
  if (!over) return under;
  const env = { ...(under.env ?? {}), ...(over.env ?? {}) };
  const annotations = { ...(under.annotations ?? {}), ...(over.annotations ?? {}) };
  const replicas = over.replicas ?? under.replicas;
  return {
    ...(replicas !== undefined ? { replicas } : {}),
    ...(Object.keys(env).length ? { env } : {}),
    ...(Object.keys(annotations).length ? { annotations } : {}),
  };
}

/**
 * The revision with each cell's override made whole: its cluster's override, then its own on top (cell over
 * cluster over template). Everything downstream (plans, workloads, pods) reads `overrides[cell]` only. A
 * revision without cluster overrides comes back as it is.
 */
export function withClusterOverrides(
  revision: Revision,
  cells: Iterable<string>,
  clusterOf: (cell: string) => string | undefined,
): Revision {
  if (!nonEmpty(revision.clusterOverrides)) return revision;
  const byCluster = revision.clusterOverrides;
  const overrides: Record<string, CellOverride> = { ...revision.overrides };
  for (const cell of cells) {
    const cluster = clusterOf(cell);
    const merged = layered(cluster ? byCluster[cluster] : undefined, revision.overrides[cell]);
    if (merged) overrides[cell] = merged;
  }
  // the merged overrides say it all: activities never look at cluster overrides
  return { ...revision, overrides, clusterOverrides: {} };
}
