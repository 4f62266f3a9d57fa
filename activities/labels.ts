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

/**
 * Reasons on the traffic gate condition. A release closes the gate with DRAINING: the gate keeper leaves
 * such a pod alone until the release opens it again (RELEASED) or gives it up (HANDED_BACK). Marking in
 * the condition itself makes drain and undrain one write each.
 */
export const GATE_REASONS = {
  draining: 'DrainingForRelease',
  released: 'ReleasedByBarista',
  handedBack: 'HandedBackByBarista',
} as const;

/** Earlier drain mark (before GATE_REASONS.draining): still honoured and removed where found. */
export const DRAIN_ANNOTATION = 'barista.dev/draining';
