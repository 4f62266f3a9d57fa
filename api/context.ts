import type { FastifyRequest } from 'fastify';
import type { Identity } from './auth.js';
import type { ReleaseClient } from './release-client.js';
import type { TicketClient } from './ticket-client.js';
import type { AuditStore } from '../activities/audit-store.js';
import type { DriftClient } from './drift-client.js';

/** What the routes need: the release client and a way to authenticate a request. */
export interface ApiContext {
  releases: ReleaseClient;
  tickets: TicketClient;
  drift: DriftClient;
  audit: AuditStore | undefined;
  identify(req: FastifyRequest): Identity;
}
