import { DomainError } from '../../../domain/errors.js';
import {
  AGENT_SCHEDULE_TO_START_SECONDS,
  agentNotPollingReason,
  agentQueueOf,
  agentScheduleToStartSeconds,
  clusterTaskQueue,
  parseAgentClusters,
} from '../../../domain/cluster-queues.js';

test('a cluster is served on barista-cluster-<name>', () => {
  expect(clusterTaskQueue('kc2')).toBe('barista-cluster-kc2');
  expect(clusterTaskQueue('eu-west-1')).toBe('barista-cluster-eu-west-1');
});

test.each([
  [undefined, 'kc2', undefined],
  [{ agentServed: [] }, 'kc2', undefined],
  [{ agentServed: ['kc2'] }, 'kc1', undefined],
  [{ agentServed: ['kc2', 'kc7'] }, 'kc2', 'barista-cluster-kc2'],
  [{ agentServed: ['kc2', 'kc7'] }, 'kc7', 'barista-cluster-kc7'],
])('routes %j: cluster %s goes to %s (undefined: the central queue)', (routes, cluster, queue) => {
  expect(agentQueueOf(routes, cluster)).toBe(queue);
});

test.each([
  [undefined, AGENT_SCHEDULE_TO_START_SECONDS],
  [600, AGENT_SCHEDULE_TO_START_SECONDS],
  [120, 60],
  [30, 15],
  [5, 2],
  [1, 1],
])('a step with scheduleToClose %s s waits at most %s s on an agent queue', (close, start) => {
  expect(agentScheduleToStartSeconds(close)).toBe(start);
});

test('the reason names the cluster, its queue and the budget', () => {
  expect(agentNotPollingReason('kc2', 60)).toBe(
    "cluster kc2's agent is not polling barista-cluster-kc2 (no worker took the step within 60s)",
  );
});

describe('BARISTA_AGENT_CLUSTERS', () => {
  test.each([
    [undefined, []],
    ['', []],
    ['kc2', ['kc2']],
    [' kc2 , kc7,', ['kc2', 'kc7']],
  ])('%j is %j', (raw, names) => {
    expect(parseAgentClusters(raw)).toEqual(names);
  });

  test.each([
    ['kc2,KC3', /BARISTA_AGENT_CLUSTERS\[1\]: must be lowercase/],
    ['kc2,kc2', /BARISTA_AGENT_CLUSTERS: must not name a cluster twice/],
    ['kc_2', /BARISTA_AGENT_CLUSTERS\[0\]: must be lowercase/],
  ])('%j is refused naming the entry', (raw, message) => {
    expect(() => parseAgentClusters(raw)).toThrow(DomainError);
    expect(() => parseAgentClusters(raw)).toThrow(message);
  });
});
