import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import type { CheckContext, Measurement, WebhookCheck } from '../../domain/verification.js';
import { signatureHeaders } from './signature.js';

type Outcome = Omit<Measurement, 'at'>;

const AnswerSchema = z.object({
  result: z.enum(['pass', 'fail', 'inconclusive']),
  reason: z.string().max(1000).optional(),
  value: z.union([z.number(), z.string().max(200)]).optional(),
});

/**
 * One measurement of a `webhook` check: POSTs the release context (signed) and reads {"result": …} back. A
 * timeout, a refused connection or a 5xx is tried again up to `retries` times; what never answers, answers 4xx
 * or answers something else than the documented JSON is inconclusive, with the reason.
 */
export async function measureWebhookCheck(
  check: WebhookCheck,
  context: CheckContext,
  deps: { secret?: string; heartbeat?: () => void },
): Promise<Outcome> {
  const body = JSON.stringify({ check: check.name, ...context });
  let lastProblem = '';
  for (let attempt = 0; attempt <= check.retries; attempt++) {
    if (attempt > 0) await sleep(500 * attempt);
    deps.heartbeat?.();
    let res: Response;
    let text: string;
    try {
      res = await fetch(check.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'barista-verification', ...signatureHeaders(deps.secret, body) },
        body,
        redirect: 'error',
        signal: AbortSignal.timeout(check.timeoutSeconds * 1000),
      });
      text = await res.text();
    } catch (err) {
      // duck-typed: the abort's DOMException may come from another realm (jest's VM), where instanceof fails
      const e = err as { name?: string; message?: string; cause?: { name?: string; message?: string } };
      const timedOut = [e.name, e.cause?.name].some((n) => n === 'TimeoutError' || n === 'AbortError');
      lastProblem = timedOut
        ? `gave no answer within ${check.timeoutSeconds}s`
        : `could not be reached: ${e.cause?.message ?? e.message ?? String(err)}`;
      continue;
    }
    if (res.status >= 500) {
      lastProblem = `answered ${res.status}`;
      continue;
    }
    if (res.status >= 300) return { decision: 'inconclusive', reason: `the webhook answered ${res.status}` };
    const answer = parseAnswer(text);
    if (!answer.ok)
      return {
        decision: 'inconclusive',
        reason: `the webhook's answer ${answer.problem}; expected JSON {"result": "pass" | "fail" | "inconclusive", "reason"?: "…"}`,
      };
    return {
      decision: answer.value.result,
      ...(answer.value.value !== undefined ? { value: String(answer.value.value) } : {}),
      reason: answer.value.reason ?? `the webhook answered ${answer.value.result}`,
    };
  }
  return { decision: 'inconclusive', reason: `the webhook ${lastProblem} (${check.retries + 1} attempts)` };
}

function parseAnswer(text: string): { ok: true; value: z.output<typeof AnswerSchema> } | { ok: false; problem: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, problem: `is not JSON (${JSON.stringify(text.slice(0, 80))})` };
  }
  const parsed = AnswerSchema.safeParse(json);
  return parsed.success
    ? { ok: true, value: parsed.data }
    : { ok: false, problem: `has no valid "result" (${JSON.stringify(text.slice(0, 80))})` };
}
