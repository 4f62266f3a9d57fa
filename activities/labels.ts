/** Labels, annotations and condition types Barista puts on the objects it owns. */
export const LABELS = {
  app: 'barista.dev/app',
  cell: 'barista.dev/cell',
  tenant: 'barista.dev/tenant',
  workspace: 'barista.dev/workspace',
  revision: 'barista.dev/revision',
  managedBy: 'app.kubernetes.io/managed-by',
} as const;

/** Readiness gate: a pod serves only when its containers are ready and this condition is True. */
export const TRAFFIC_READY = 'barista.dev/traffic-ready';

export const FIELD_MANAGER = 'barista';

/** Annotation Barista keeps on a pod from drain to mount: the gate keeper leaves such a pod alone. */
export const DRAIN_ANNOTATION = 'barista.dev/draining';
