import { z } from 'zod';
import { dnsLabel, imageRef } from './names.js';

export const ContainerSchema = z.strictObject({
  name: dnsLabel,
  image: imageRef,
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name'), z.string()).optional(),
});

export const TemplateSchema = z.strictObject({
  containers: z
    .array(ContainerSchema)
    .min(1, 'at least one container is needed')
    .refine((cs) => new Set(cs.map((c) => c.name)).size === cs.length, 'container names must be unique'),
  annotations: z.record(z.string(), z.string()).optional(),
});

export const CellOverrideSchema = z.strictObject({
  replicas: z.number().int().min(0).max(1000).optional(),
  env: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});

/** What a person registers: an App and where it lives. Each change of template/overrides makes a new revision. */
export const AppSpecSchema = z.strictObject({
  name: dnsLabel,
  tenant: dnsLabel,
  workspace: dnsLabel,
  /** Kubernetes namespace of the workloads in every cell; default `<tenant>-<workspace>`. */
  namespace: dnsLabel.optional(),
  template: TemplateSchema,
  replicasPerCell: z.number().int().min(1, 'must be at least 1').max(1000),
  placement: z.strictObject({
    cells: z
      .array(dnsLabel)
      .min(1, 'placement must name at least one cell')
      .refine((cells) => new Set(cells).size === cells.length, 'cells must not repeat'),
  }),
  overrides: z.record(dnsLabel, CellOverrideSchema).default({}),
});

export type AppSpec = z.output<typeof AppSpecSchema>;
export type AppSpecInput = z.input<typeof AppSpecSchema>;
export type Template = z.output<typeof TemplateSchema>;
export type CellOverride = z.output<typeof CellOverrideSchema>;

/** An immutable, numbered snapshot of an App's template, replicas and per-cell overrides. */
export interface Revision {
  number: number;
  template: Template;
  replicasPerCell: number;
  overrides: Record<string, CellOverride>;
  createdAt: string;
  createdBy: string;
}

export function namespaceOf(app: Pick<AppSpec, 'namespace' | 'tenant' | 'workspace'>): string {
  return app.namespace ?? `${app.tenant}-${app.workspace}`;
}

export function replicasIn(revision: Pick<Revision, 'replicasPerCell' | 'overrides'>, cell: string): number {
  return revision.overrides[cell]?.replicas ?? revision.replicasPerCell;
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
  return JSON.stringify([a.template, a.replicasPerCell, a.overrides]) === JSON.stringify([b.template, b.replicasPerCell, b.overrides]);
}
