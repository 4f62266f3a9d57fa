import { effectiveState, stateClause } from '../../../api/release-states.js';

describe('effectiveState: no ended release looks alive', () => {
  test.each([
    ['running', 'RUNNING', 'running'],
    ['waiting-approval', 'Running', 'waiting-approval'],
    ['succeeded', 'COMPLETED', 'succeeded'],
    ['waiting-approval', 'TERMINATED', 'terminated'],
    ['waiting-approval', 'Terminated', 'terminated'],
    ['paused', 'TIMED_OUT', 'timed-out'],
    ['running', 'TimedOut', 'timed-out'],
    ['running', 'CANCELLED', 'cancelled'],
    ['running', 'Canceled', 'cancelled'],
    ['planning', 'FAILED', 'failed'],
    ['failed', 'FAILED', 'failed'],
    [undefined, 'RUNNING', 'planning'],
    [undefined, 'COMPLETED', 'failed'],
  ])('written %s, Temporal %s → %s', (written, status, expected) => {
    expect(effectiveState(written, status)).toBe(expected);
  });
});

describe('stateClause', () => {
  test('failed includes runs Temporal failed whatever state they wrote', () => {
    expect(stateClause('failed')).toBe(`(BaristaState = 'failed' OR ExecutionStatus = 'Failed')`);
  });
  test('a live state only matches running executions', () => {
    expect(stateClause('waiting-approval')).toBe(`BaristaState = 'waiting-approval' AND ExecutionStatus = 'Running'`);
  });
  test('an end the workflow wrote matches completed executions', () => {
    expect(stateClause('aborted')).toBe(`BaristaState = 'aborted' AND ExecutionStatus = 'Completed'`);
  });
  test('ends only Temporal knows', () => {
    expect(stateClause('terminated')).toBe(`ExecutionStatus = 'Terminated'`);
    expect(stateClause('timed-out')).toBe(`ExecutionStatus = 'TimedOut'`);
  });
});
