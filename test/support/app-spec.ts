/** The App body most tests register: one container, tenant acme/prod unless told otherwise. */
export function appSpec(
  name: string,
  image: string,
  o: {
    tenant?: string;
    workspace?: string;
    cells?: string[];
    replicasPerCell?: number;
    env?: Record<string, string>;
    traffic?: { name: string; deregistrationTimeoutSeconds?: number }[];
  } = {},
) {
  return {
    name,
    tenant: o.tenant ?? 'acme',
    workspace: o.workspace ?? 'prod',
    template: { containers: [{ name: 'app', image, ...(o.env ? { env: o.env } : {}) }] },
    replicasPerCell: o.replicasPerCell ?? 3,
    placement: { cells: o.cells ?? ['rz00a'] },
    ...(o.traffic ? { traffic: o.traffic } : {}),
  };
}
