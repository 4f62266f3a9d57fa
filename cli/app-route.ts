import { CliError } from './api-client.js';

/** `tenant/app` → its parts, or a CliError naming what was given. */
export function parseAppRef(ref: string): { tenant: string; app: string } {
  const m = /^([a-z0-9-]+)\/([a-z0-9-]+)$/.exec(ref);
  if (!m) throw new CliError(`"${ref}" is not <tenant>/<app>`);
  return { tenant: m[1]!, app: m[2]! };
}

/** `tenant/app` → the route prefix of that App. */
export function appRoute(ref: string): string {
  const { tenant, app } = parseAppRef(ref);
  return `/v1/tenants/${tenant}/apps/${app}`;
}
