import http from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { describeIssues, toFieldIssues } from '../domain/validation.js';
import { SandboxError } from './errors.js';
import type { Sandbox } from './sandbox.js';
import type { RevisionFaultInput, RevisionFaultTarget } from './traffic/request-model.js';

/** Bodies the control API accepts. */
const ImageFault = z.strictObject({ image: z.string().min(1), bad: z.boolean().default(true) });
const Latency = z.strictObject({ ms: z.number().int().min(0).max(120_000) });

/**
 * A small HTTP API on loopback so that other processes (jest workers, benches, an operator) can inject
 * faults into a running sandbox. Bearer token required; nothing else listens.
 */
export async function startControlServer(sandbox: Sandbox, token: string): Promise<{ url: string; close: () => Promise<void> }> {
  const routes: { method: string; pattern: RegExp; handle: (match: RegExpMatchArray, body: unknown) => Promise<unknown> | unknown }[] = [
    { method: 'GET', pattern: /^\/info$/, handle: () => sandbox.info() },
    { method: 'GET', pattern: /^\/faults$/, handle: () => sandbox.faults.snapshot() },
    // the agents of agent-served clusters (issue #16): an agent stopped is its cluster unreachable for releases
    { method: 'GET', pattern: /^\/agents$/, handle: () => ({ agents: sandbox.agents?.list() ?? [] }) },
    {
      method: 'POST',
      pattern: /^\/agents\/([^/]+)\/(stop|start)$/,
      handle: (m) => {
        if (!sandbox.agents)
          throw new SandboxError('UNKNOWN_TARGET', 'no cluster of this sandbox is agent-served (topology access: agent)');
        return m[2] === 'stop' ? sandbox.agents.stop(m[1]!) : sandbox.agents.start(m[1]!);
      },
    },
    {
      method: 'POST',
      pattern: /^\/clusters\/([^/]+)\/stop$/,
      handle: async (m) => {
        await sandbox.stopCluster(m[1]!);
        return { cluster: m[1], running: false };
      },
    },
    {
      method: 'POST',
      pattern: /^\/clusters\/([^/]+)\/start$/,
      handle: async (m) => {
        await sandbox.startCluster(m[1]!);
        return { cluster: m[1], running: true };
      },
    },
    {
      method: 'POST',
      pattern: /^\/clusters\/([^/]+)\/freeze$/,
      handle: (m) => {
        sandbox.freezeCluster(m[1]!);
        return { cluster: m[1], frozen: true };
      },
    },
    {
      method: 'POST',
      pattern: /^\/clusters\/([^/]+)\/thaw$/,
      handle: (m) => {
        sandbox.thawCluster(m[1]!);
        return { cluster: m[1], frozen: false };
      },
    },
    {
      method: 'GET',
      pattern: /^\/clusters\/([^/]+)\/metrics$/,
      handle: async (m) => ({ cluster: m[1], metrics: await sandbox.apiServerMetrics(m[1]!) }),
    },
    {
      method: 'POST',
      pattern: /^\/clusters\/([^/]+)\/start-latency$/,
      handle: (m, body) => {
        const { ms } = parse(Latency, body);
        sandbox.setStartLatency(m[1]!, ms);
        return { cluster: m[1], startLatencyMs: ms };
      },
    },
    {
      method: 'POST',
      pattern: /^\/nodes\/([^/]+)\/stop$/,
      handle: (m) => {
        sandbox.setNodeUp(m[1]!, false);
        return { node: m[1], up: false };
      },
    },
    {
      method: 'POST',
      pattern: /^\/nodes\/([^/]+)\/start$/,
      handle: (m) => {
        sandbox.setNodeUp(m[1]!, true);
        return { node: m[1], up: true };
      },
    },
    {
      method: 'POST',
      pattern: /^\/audit-database\/stop$/,
      handle: async () => {
        await sandbox.stopAuditDatabase();
        return { auditDatabase: 'stopped' };
      },
    },
    {
      method: 'POST',
      pattern: /^\/audit-database\/start$/,
      handle: async () => {
        await sandbox.startAuditDatabase();
        return { auditDatabase: 'running' };
      },
    },
    {
      method: 'POST',
      pattern: /^\/prometheus\/stop$/,
      handle: async () => {
        await sandbox.stopPrometheus();
        return { prometheus: 'stopped' };
      },
    },
    {
      method: 'POST',
      pattern: /^\/prometheus\/start$/,
      handle: async () => {
        await sandbox.startPrometheus();
        return { prometheus: 'running' };
      },
    },
    { method: 'GET', pattern: /^\/faults\/revision$/, handle: () => ({ faults: sandbox.revisionFaults() }) },
    {
      // the body is validated by the sandbox (RevisionFaultSchema): SandboxError INVALID_INPUT, 400
      method: 'PUT',
      pattern: /^\/faults\/revision$/,
      handle: (_m, body) => sandbox.setRevisionFault(body as RevisionFaultInput),
    },
    {
      method: 'DELETE',
      pattern: /^\/faults\/revision$/,
      handle: (_m, body) => ({ cleared: sandbox.clearRevisionFault(body as RevisionFaultTarget) }),
    },
    {
      method: 'POST',
      pattern: /^\/faults\/images$/,
      handle: (_m, body) => {
        const f = parse(ImageFault, body);
        sandbox.setImageBad(f.image, f.bad);
        return f;
      },
    },
    {
      method: 'POST',
      pattern: /^\/traffic\/([^/]+)\/deregistration-delay$/,
      handle: (m, body) => {
        const { ms } = parse(Latency, body);
        sandbox.setDeregistrationDelay(m[1]!, ms);
        return { component: m[1], deregistrationDelayMs: ms };
      },
    },
  ];
  const expected = Buffer.from(`Bearer ${token}`);
  const server = http.createServer((req, res) => {
    const reply = (status: number, payload: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(payload));
    };
    const given = Buffer.from(req.headers.authorization ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected))
      return reply(401, { error: 'missing or wrong bearer token' });
    const route = routes.find((r) => r.method === req.method && r.pattern.test(req.url ?? ''));
    if (!route) return reply(404, { error: `no route ${req.method} ${req.url}` });
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    req.on('end', () => {
      void (async () => {
        try {
          const body: unknown = raw ? JSON.parse(raw) : {};
          reply(200, await route.handle((req.url ?? '').match(route.pattern)!, body));
        } catch (err) {
          const status = err instanceof SandboxError ? (err.code === 'UNKNOWN_TARGET' ? 404 : 400) : err instanceof SyntaxError ? 400 : 500;
          reply(status, { error: err instanceof Error ? err.message : String(err) });
        }
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return { url: `http://127.0.0.1:${address.port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body);
  if (!result.success) throw new SandboxError('INVALID_INPUT', `invalid body: ${describeIssues(toFieldIssues(result.error))}`);
  return result.data;
}
