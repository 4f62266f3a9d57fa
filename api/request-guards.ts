import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { DomainError } from '../domain/index.js';

/**
 * Keys a JSON body may not carry at any depth: assigned to a plain object they reach its prototype (prototype
 * pollution), so nothing downstream should ever see them. Fastify's own parser refused `__proto__` with "Body
 * is not valid JSON" and let `constructor` through; this one names the key and where it is.
 */
export const FORBIDDEN_KEYS = ['__proto__', 'constructor', 'prototype'] as const;

/** The path (`template.__proto__`, `containers[0].constructor`) of the first forbidden key in `value`, if any. */
export function forbiddenKeyPath(value: unknown, at = ''): string | undefined {
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const found = forbiddenKeyPath(item, `${at}[${i}]`);
      if (found) return found;
    }
    return undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  for (const key of Object.keys(value)) {
    const path = at ? `${at}.${key}` : key;
    if ((FORBIDDEN_KEYS as readonly string[]).includes(key)) return path;
    const found = forbiddenKeyPath((value as Record<string, unknown>)[key], path);
    if (found) return found;
  }
  return undefined;
}

/**
 * Replaces Fastify's JSON body parser with one that keeps its answers for an empty or malformed body and refuses
 * a forbidden key with a 400 naming it, in the shape of every other 400 (`invalid body: <field>: <reason>`).
 */
export function refuseForbiddenKeys(app: FastifyInstance): void {
  // plain JSON.parse (own properties only: `__proto__` becomes an ordinary key, found below)
  const parse = app.getDefaultJsonParser('ignore', 'ignore');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    void parse(req, body as string, (err, parsed) => {
      if (err) return done(err, undefined);
      const field = forbiddenKeyPath(parsed);
      if (field === undefined) return done(null, parsed);
      const message = `key "${field.split(/[.[]/).pop()}" is not allowed (${FORBIDDEN_KEYS.join(', ')} are refused anywhere in a body)`;
      const error = new DomainError('INVALID_INPUT', `invalid body: ${field}: ${message}`, [{ field, message }]);
      done(error, undefined);
    });
  });
}

/** A route's URL pattern (`/v1/tenants/:tenant/apps/:app`) as a regular expression over a request's path. */
function patternOf(url: string): RegExp {
  const source = url
    .split('/')
    .map((segment) => {
      if (segment === '*') return '.*';
      return segment
        .split(/(:[A-Za-z0-9_]+(?:\([^)]*\))?)/)
        .map((part) => {
          if (!part.startsWith(':')) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
          const custom = /\((.*)\)$/.exec(part)?.[1];
          return custom ? `(?:${custom.replace(/^\^/, '').replace(/\$$/, '')})` : '[^/]+';
        })
        .join('');
    })
    .join('/');
  return new RegExp(`^${source}$`);
}

/**
 * Which methods each route path answers, collected as routes are added, so that a known path asked with another
 * method is a 405 with `Allow` (RFC 9110 §15.5.6) and only an unknown path is a 404.
 */
export function answerWrongMethods(app: FastifyInstance): void {
  const routes = new Map<string, { pattern: RegExp; methods: Set<string> }>();
  app.addHook('onRoute', (route: RouteOptions) => {
    const entry = routes.get(route.url) ?? { pattern: patternOf(route.url), methods: new Set<string>() };
    for (const method of [route.method].flat()) {
      entry.methods.add(method);
      if (method === 'GET') entry.methods.add('HEAD'); // Fastify answers HEAD for every GET route
    }
    routes.set(route.url, entry);
  });
  app.setNotFoundHandler((req: FastifyRequest, reply: FastifyReply) => {
    const path = req.url.split('?')[0] ?? req.url;
    const allowed = new Set<string>();
    for (const { pattern, methods } of routes.values()) if (pattern.test(path)) methods.forEach((m) => allowed.add(m));
    if (allowed.size === 0) return reply.status(404).send({ error: `no route ${req.method} ${path}` });
    const allow = [...allowed].sort().join(', ');
    return reply
      .status(405)
      .header('allow', allow)
      .send({ error: `method ${req.method} is not allowed on ${path}; allowed: ${allow}` });
  });
}
