import { hashToken, TokenStore, type Role } from '../../api/auth.js';
import { buildApi } from '../../api/server.js';
import type { AuditStore } from '../../activities/audit-store.js';
import { createLogger } from '../../sandbox/logger.js';
import type { ReleaseHarness } from './release-harness.js';

/** One bearer token of the test API: who, with which roles, for which tenants. */
export interface TestToken {
  token: string;
  name: string;
  roles: Role[];
  tenants: string[];
}

/** The real HTTP API on loopback over a harness's release client; `call` sends one request with a bearer token. */
export async function startHttpApi(
  h: ReleaseHarness,
  tokens: TestToken[],
  audit?: AuditStore,
): Promise<{
  /** Where the API listens, e.g. http://127.0.0.1:39123. */
  url: string;
  call: (method: string, url: string, token: string, payload?: unknown) => Promise<{ status: number; body: ReturnType<typeof JSON.parse> }>;
  close: () => Promise<void>;
  /** Its base URL (for the CLI's BARISTA_ENDPOINT). */
  endpoint: string;
}> {
  const store = new TokenStore(tokens.map((t) => ({ name: t.name, sha256: hashToken(t.token), roles: t.roles, tenants: t.tenants })));
  const api = await buildApi({ releases: h.releases, tokens: store, logger: createLogger('api', 'warn'), ...(audit ? { audit } : {}) });
  const base = await api.listen({ port: 0, host: '127.0.0.1' });
  return {
    endpoint: base,
    url: base,
    async call(method, url, token, payload) {
      const res = await fetch(`${base}${url}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(payload !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(payload !== undefined ? { body: JSON.stringify(payload) } : {}),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    },
    close: () => api.close(),
  };
}
