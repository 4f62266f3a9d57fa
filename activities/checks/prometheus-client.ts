import { z } from 'zod';

/** One series of an instant query's answer: its labels and its value (NaN and ±Inf kept as numbers). */
export interface Sample {
  labels: Record<string, string>;
  value: number;
}

/** Prometheus could not be asked (refused, timed out, 5xx) or refused the query (bad_data): the message says which. */
export class PrometheusError extends Error {
  constructor(
    readonly code: 'UNREACHABLE' | 'BAD_QUERY' | 'BAD_ANSWER',
    message: string,
  ) {
    super(message);
  }
}

const valuePair = z.tuple([z.number(), z.string()]);
const EnvelopeSchema = z.discriminatedUnion('status', [
  z.object({ status: z.literal('success'), data: z.unknown() }),
  z.object({ status: z.literal('error'), errorType: z.string(), error: z.string() }),
]);
const QueryDataSchema = z.discriminatedUnion('resultType', [
  z.object({ resultType: z.literal('vector'), result: z.array(z.object({ metric: z.record(z.string(), z.string()), value: valuePair })) }),
  z.object({ resultType: z.literal('scalar'), result: valuePair }),
  z.object({ resultType: z.literal('matrix'), result: z.array(z.unknown()) }),
  z.object({ resultType: z.literal('string'), result: z.unknown() }),
]);

/** A small client of Prometheus' HTTP API (/api/v1): instant queries and the server's own PromQL parser. */
export class PrometheusClient {
  constructor(
    readonly url: string,
    private readonly timeoutMs = 10_000,
  ) {}

  /** Runs an instant query; a range (matrix) answer is refused: a check needs one number per series. */
  async query(promql: string): Promise<Sample[]> {
    const parsed = QueryDataSchema.safeParse(await this.call('query', promql));
    if (!parsed.success)
      throw new PrometheusError('BAD_ANSWER', `Prometheus at ${this.url} answered a query with data this client does not know`);
    const data = parsed.data;
    if (data.resultType === 'scalar') return [{ labels: {}, value: Number(data.result[1]) }];
    if (data.resultType !== 'vector')
      throw new PrometheusError(
        'BAD_QUERY',
        `the query answers a ${data.resultType}, not a number per series (drop the [range] or wrap it in a function)`,
      );
    return data.result.map((s) => ({ labels: s.metric, value: Number(s.value[1]) }));
  }

  /** Resolves when Prometheus' own parser accepts the query; throws BAD_QUERY with its message otherwise. */
  async parse(promql: string): Promise<void> {
    await this.call('format_query', promql);
  }

  private async call(endpoint: 'query' | 'format_query', promql: string): Promise<unknown> {
    // one deadline for the whole exchange: a server that sends its headers and then stalls is as unreachable as
    // one that never answers
    const signal = AbortSignal.timeout(this.timeoutMs);
    let res: Response;
    let text: string;
    try {
      res = await fetch(`${this.url}/api/v1/${endpoint}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ query: promql }),
        signal,
      });
      text = await res.text();
    } catch (err) {
      const e = err as { message?: string; cause?: { message?: string } };
      const cause = signal.aborted ? `no answer within ${this.timeoutMs / 1000}s` : (e.cause?.message ?? e.message ?? String(err));
      throw new PrometheusError('UNREACHABLE', `Prometheus at ${this.url} is unreachable: ${cause}`);
    }
    let body: z.output<typeof EnvelopeSchema>;
    try {
      body = EnvelopeSchema.parse(JSON.parse(text));
    } catch {
      if (res.status >= 500) throw new PrometheusError('UNREACHABLE', `Prometheus at ${this.url} answered ${res.status}`);
      throw new PrometheusError('BAD_ANSWER', `Prometheus at ${this.url} answered ${res.status} with something that is not its API's JSON`);
    }
    if (body.status === 'error') {
      if (body.errorType === 'bad_data') throw new PrometheusError('BAD_QUERY', `Prometheus refused the query: ${body.error}`);
      throw new PrometheusError('UNREACHABLE', `Prometheus could not run the query (${body.errorType}): ${body.error}`);
    }
    return body.data;
  }
}
