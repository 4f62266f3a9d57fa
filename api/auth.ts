import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { DomainError, describeIssues, toFieldIssues } from '../domain/index.js';

export const ROLES = ['viewer', 'releaser', 'approver', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** What each role may do. Approving is separate from releasing: the person who starts need not approve. */
export const PERMISSIONS = {
  read: ['viewer', 'releaser', 'approver', 'admin'],
  'apps:write': ['releaser', 'admin'],
  'release:start': ['releaser', 'admin'],
  'revision:mark': ['releaser', 'admin'], // mark a revision bad (plain releases refuse it) or good: as start does
  'release:steer': ['releaser', 'approver', 'admin'], // pause, resume, abort, rollback
  'release:approve': ['approver', 'admin'], // approve, promote-all, skip-pod
  'ticket:skip': ['admin'], // mark a ticket's app done by hand
  'release:bypass-window': ['admin'], // let a release pass a change window
  'tenant:settings': ['admin'], // change windows
  'tenant:notifications': ['admin'], // notification webhooks (their secrets)
  'drift:run': ['releaser', 'admin'], // start a drift repair run (or a dry run) by hand
  'drift:schedule': ['admin'], // pause, unpause, trigger the drift Schedule, set its interval
} as const satisfies Record<string, readonly Role[]>;
export type Permission = keyof typeof PERMISSIONS;

const TokenEntrySchema = z.strictObject({
  name: z.string().min(1),
  /** sha256 of the token, hex: tokens are never stored in clear. */
  sha256: z.string().regex(/^[a-f0-9]{64}$/, 'must be the hex sha256 of the token'),
  roles: z.array(z.enum(ROLES)).min(1),
  /** Tenants this identity may act on; `*` for all. */
  tenants: z.array(z.string().min(1)).min(1),
});
export const TokenFileSchema = z.strictObject({ tokens: z.array(TokenEntrySchema) });
export type TokenEntry = z.output<typeof TokenEntrySchema>;

export interface Identity {
  name: string;
  roles: Role[];
  tenants: string[];
}

export class AuthError extends Error {
  constructor(
    readonly status: 401 | 403,
    message: string,
  ) {
    super(message);
    this.name = 'AuthError';
  }
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Bearer tokens from a config file, stored hashed, each with roles and the tenants it may touch. */
export class TokenStore {
  constructor(private readonly entries: TokenEntry[]) {}

  static async fromFile(file: string): Promise<TokenStore> {
    const parsed = TokenFileSchema.safeParse(parseYaml(await readFile(file, 'utf8')));
    if (!parsed.success)
      throw new DomainError('INVALID_INPUT', `invalid token file ${file}: ${describeIssues(toFieldIssues(parsed.error))}`);
    return new TokenStore(parsed.data.tokens);
  }

  authenticate(header: string | undefined): Identity {
    // the scheme is case-insensitive (RFC 7235 §2.1: `bearer`, `BEARER`); one or more spaces before the token
    const token = /^Bearer +(\S+) *$/i.exec(header ?? '')?.[1];
    if (!token) throw new AuthError(401, 'missing bearer token: send "Authorization: Bearer <token>"');
    const digest = Buffer.from(hashToken(token), 'hex');
    const entry = this.entries.find((e) => timingSafeEqual(Buffer.from(e.sha256, 'hex'), digest));
    if (!entry) throw new AuthError(401, 'unknown or revoked token');
    return { name: entry.name, roles: entry.roles, tenants: entry.tenants };
  }

  static authorize(identity: Identity, permission: Permission, tenant: string): void {
    if (!identity.roles.some((r) => (PERMISSIONS[permission] as readonly Role[]).includes(r)))
      throw new AuthError(
        403,
        `${identity.name} (roles ${identity.roles.join(', ')}) may not ${permission}; needs one of ${PERMISSIONS[permission].join(', ')}`,
      );
    if (!identity.tenants.includes('*') && !identity.tenants.includes(tenant))
      throw new AuthError(403, `${identity.name} may not act on tenant ${tenant}`);
  }
}
