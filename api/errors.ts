import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { DomainError } from '../domain/index.js';
import { AuthError } from './auth.js';

const STATUS: Record<DomainError['code'], number> = { INVALID_INPUT: 400, NOT_FOUND: 404, CONFLICT: 409, FORBIDDEN: 403 };

/** Every error becomes JSON `{ error, issues? }`: 400 names each field and rule, 404/409 say what and why. */
export function errorHandler(err: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): void {
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
