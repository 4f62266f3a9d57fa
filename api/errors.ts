import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { DomainError } from '../domain/index.js';
import { AuthError } from './auth.js';

const STATUS: Record<DomainError['code'], number> = { INVALID_INPUT: 400, NOT_FOUND: 404, CONFLICT: 409, FORBIDDEN: 403 };

/** An Idempotency-Key used before, within its lifetime, with a different request (422: the key names one request). */
export class IdempotencyKeyReusedError extends Error {
  override readonly name = 'IdempotencyKeyReusedError';
  constructor(
    readonly key: string,
    readonly release: { workflowId: string; runId?: string },
  ) {
    super(
      `Idempotency-Key "${key}" was already used with a different request (${release.workflowId}${release.runId ? `, run ${release.runId}` : ''}); ` +
        'send the same request to get that release, or use a new key',
    );
  }
}

/** Something Barista depends on does not answer: Temporal, a cluster, the worker (503; the request may be retried). */
export class UnavailableError extends Error {
  override readonly name: string = 'UnavailableError';
  constructor(
    /** What is unavailable, e.g. "Temporal at 127.0.0.1:7233", "cluster kc3". */
    readonly what: string,
    readonly reason: string,
  ) {
    super(`${what} is unavailable: ${reason}`);
  }
}

/**
 * No Barista worker polls the task queue a release (or ticket) runs on, or none answered in time: its status and
 * actions need a worker (a query or an Update runs workflow code), so they are answered 503 at once, naming the queue,
 * instead of waiting for a worker that is not there.
 */
export class NoWorkerError extends UnavailableError {
  override readonly name = 'NoWorkerError';
  constructor(
    readonly taskQueue: string,
    readonly namespace: string,
    /** e.g. "no worker polls it", "no worker answered the status query within 10s". */
    reason: string,
  ) {
    super(`task queue "${taskQueue}"`, reason);
    this.message =
      `no Barista worker on task queue "${taskQueue}" (namespace ${namespace}): ${reason}; ` +
      'start one (`npm run worker`, or `npm start`) and retry';
  }
}

/** gRPC status UNAVAILABLE: the Temporal client could not reach its server (connection refused, reset, DNS). */
const GRPC_UNAVAILABLE = 14;

/**
 * True for the errors @temporalio/client throws when its server does not answer: a ServiceError ("Failed to
 * describe workflow", ...) whose cause is a gRPC error with code UNAVAILABLE (after the client's own retries).
 */
export function isTemporalUnavailable(err: unknown): boolean {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++)
    if (e.code === GRPC_UNAVAILABLE) return true;
  return false;
}

/** The innermost message of an error, without the gRPC status prefix. */
function rootMessage(err: unknown): string {
  let e = err as { message?: string; cause?: unknown };
  while (e.cause && typeof e.cause === 'object') e = e.cause as typeof e;
  return (e.message ?? String(err)).replace(/^\d+ UNAVAILABLE: /, '').replace(/\s*Resolution note:\s*$/, '');
}

/** How long a client should wait before retrying a 503. */
const RETRY_AFTER_SECONDS = 5;

/** The error handler of the whole API, which knows no Temporal address (routes set one that does). */
export const errorHandler = createErrorHandler({});

/**
 * Every error becomes JSON `{ error, issues? }`: 400 names each field and rule, 404/409 say what and why,
 * 422 a reused idempotency key, 503 what does not answer (Temporal at its address, a cluster by name).
 */
export function createErrorHandler(opts: { temporalAddress?: string }) {
  return (err: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): void => handle(err, request, reply, opts);
}

function handle(thrown: FastifyError | Error, request: FastifyRequest, reply: FastifyReply, opts: { temporalAddress?: string }): void {
  const temporal = opts.temporalAddress ? `Temporal at ${opts.temporalAddress}` : 'Temporal';
  const err = isTemporalUnavailable(thrown) ? new UnavailableError(temporal, rootMessage(thrown)) : thrown;
  if (err instanceof UnavailableError) {
    request.log.warn({ err }, 'dependency unavailable');
    void reply.status(503).header('retry-after', String(RETRY_AFTER_SECONDS)).send({ error: err.message });
    return;
  }
  if (err instanceof IdempotencyKeyReusedError) {
    void reply.status(422).send({
      error: err.message,
      issues: [{ field: 'headers.idempotency-key', message: 'already used with a different request' }],
      ...err.release,
    });
    return;
  }
  if (hasZodFastifySchemaValidationErrors(err)) {
    const part = (err as FastifyError).validationContext ?? 'body';
    const issues = err.validation.map((v) => ({ field: fieldOf(part, v.instancePath), message: v.message ?? 'invalid' }));
    void reply.status(400).send({ error: `invalid ${part}: ${issues.map((i) => `${i.field}: ${i.message}`).join('; ')}`, issues });
    return;
  }
  if (err instanceof DomainError) {
    void reply.status(STATUS[err.code]).send({ error: err.message, ...(err.issues.length ? { issues: err.issues } : {}), ...err.details });
    return;
  }
  if (err instanceof AuthError) {
    void reply.status(err.status).send({ error: err.message });
    return;
  }
  // no release (or no such run) to read or signal: Temporal says the workflow does not exist
  if (err.name === 'WorkflowNotFoundError') {
    void reply.status(404).send({ error: `no such release: ${err.message}` });
    return;
  }
  if ((err as FastifyError).statusCode && (err as FastifyError).statusCode! < 500) {
    void reply.status((err as FastifyError).statusCode!).send({ error: err.message });
    return;
  }
  request.log.error({ err }, 'request failed');
  void reply.status(500).send({ error: 'internal error' });
}

/** `/strategy/groups` in the body → `strategy.groups`; array indexes as `[0]`. */
function fieldOf(part: string, instancePath: string): string {
  const path = instancePath
    .split('/')
    .filter(Boolean)
    .reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '');
  return part === 'body' ? path || '(body)' : `${part}${path ? `.${path}` : ''}`;
}
