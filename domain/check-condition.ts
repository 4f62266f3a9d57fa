import { compileExpression } from 'filtrex';

/**
 * A check's success or failure condition: an expression over `result` (the measured number), e.g.
 * `result < 0.01` or `result >= 0.99 and result <= 1`. Compiled by filtrex, a sandboxed expression
 * language (no access to JavaScript objects or functions), so an API caller cannot run code on the worker.
 */
export type Condition = (result: number) => boolean;

export class ConditionError extends Error {
  readonly code = 'INVALID_CONDITION';
}

/** Compiles `text`, or throws ConditionError saying why it is not a comparison over `result`. */
export function compileCondition(text: string): Condition {
  let compiled: (data: { result: number }) => unknown;
  try {
    compiled = compileExpression(text);
  } catch (err) {
    const lines = (err instanceof Error ? err.message : String(err)).split('\n');
    const why = lines.find((l) => l.startsWith('Expecting')) ?? lines[0];
    throw new ConditionError(`does not parse (${why}); write an expression over result, e.g. "result < 0.01"`);
  }
  if (!/\bresult\b/.test(text)) throw new ConditionError('must compare result, the measured value, e.g. "result < 0.01"');
  // Probe with a few values: the expression must only name `result` and always give true or false
  for (const probe of [0, 1, -1, 0.5, 1e9]) {
    const value = compiled({ result: probe });
    if (value instanceof Error)
      throw new ConditionError(`${value.message.replace(/[“”]/g, '"')} (only "result" can be named), e.g. "result < 0.01"`);
    if (typeof value !== 'boolean')
      throw new ConditionError(
        `must be a comparison that is true or false (e.g. "result < 0.01"), not a value such as ${JSON.stringify(value)}`,
      );
  }
  return (result) => compiled({ result }) === true;
}
