import { Context } from '@temporalio/activity';
import type { Logger } from 'pino';
import type { Check, CheckContext, Measurement } from '../domain/verification.js';
import { measureCompareCheck } from './checks/compare-check.js';
import type { PrometheusClient } from './checks/prometheus-client.js';
import { measurePrometheusCheck } from './checks/prometheus-check.js';
import { measureWebhookCheck } from './checks/webhook-check.js';

export interface MeasureCheckInput {
  check: Check;
  context: CheckContext;
}

export interface VerificationDeps {
  /** The monitoring system `prometheus` and `compare` checks ask; absent: those checks are inconclusive. */
  prometheus?: PrometheusClient;
  /** Shared secret webhook requests are signed with (HMAC-SHA256); absent: sent unsigned. */
  webhookSecret?: string;
}

/**
 * Takes one measurement of a gate check. A read with no side effect on the release, so Temporal may retry it;
 * every problem of the monitoring system comes back as an inconclusive measurement with its reason.
 */
export function createMeasureCheck(deps: VerificationDeps, logger: Logger) {
  return async function measureCheck({ check, context }: MeasureCheckInput): Promise<Measurement> {
    const heartbeat = () => {
      try {
        Context.current().heartbeat();
      } catch {
        // called outside an activity (tests): nothing to heartbeat
      }
    };
    const outcome =
      check.type === 'prometheus'
        ? await measurePrometheusCheck(check, context, deps.prometheus)
        : check.type === 'webhook'
          ? await measureWebhookCheck(check, context, { ...(deps.webhookSecret ? { secret: deps.webhookSecret } : {}), heartbeat })
          : await measureCompareCheck(check, context, deps.prometheus);
    logger.info({ app: context.app, group: context.group, check: check.name, ...outcome }, 'check measured');
    return { at: new Date().toISOString(), ...outcome };
  };
}
