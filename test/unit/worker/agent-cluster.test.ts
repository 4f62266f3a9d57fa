import { parseTopology } from '../../../sandbox/topology.js';
import { agentClusterOf, checkClusterIdentity, observeNodeCells } from '../../../worker/agent-cluster.js';
import { AgentError } from '../../../worker/agent-errors.js';

const topology = parseTopology({
  clusters: [
    { name: 'kc1', cells: [{ name: 'rz00a' }, { name: 'rz00b' }] },
    { name: 'kc2', access: 'agent', cells: [{ name: 'rz01a' }, { name: 'rz01b' }] },
    { name: 'kc3', access: 'agent', cells: [{ name: 'rz02a' }] },
  ],
});

function refusal(run: () => unknown): AgentError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(AgentError);
    return err as AgentError;
  }
  throw new Error('expected a refusal');
}

test('the topology field: clusters are direct unless they say access: agent', () => {
  expect(topology.clusters.map((c) => [c.name, c.access])).toEqual([
    ['kc1', 'direct'],
    ['kc2', 'agent'],
    ['kc3', 'agent'],
  ]);
  expect(() => parseTopology({ clusters: [{ name: 'kc1', access: 'tunnel', cells: [{ name: 'a' }] }] })).toThrow(
    /clusters\[0\]\.access: must be "direct" or "agent"/,
  );
});

test('an agent-served cluster of the topology: its queue, its cells, the cells of the others', () => {
  const kc2 = agentClusterOf(topology, 'kc2');
  expect(kc2).toMatchObject({ name: 'kc2', taskQueue: 'barista-cluster-kc2', cells: ['rz01a', 'rz01b'] });
  expect([...kc2.foreignCells]).toEqual([
    ['rz00a', 'kc1'],
    ['rz00b', 'kc1'],
    ['rz02a', 'kc3'],
  ]);
});

test('a cluster the topology does not know is refused, naming the known ones', () => {
  const err = refusal(() => agentClusterOf(topology, 'kc9', 'topology file t.yaml'));
  expect(err.code).toBe('UNKNOWN_CLUSTER');
  expect(err.message).toBe('cluster "kc9" is not in topology file t.yaml (known: kc1, kc2, kc3)');
});

test('a cluster the topology reaches directly is refused, naming the field', () => {
  const err = refusal(() => agentClusterOf(topology, 'kc1'));
  expect(err.code).toBe('NOT_AGENT_SERVED');
  expect(err.message).toMatch(/cluster "kc1" is reached directly in the topology \(clusters\[0\]\.access: direct\)/);
});

describe("the API server is the cluster: judged by its nodes' cells", () => {
  const kc2 = agentClusterOf(topology, 'kc2');

  test.each([[['rz01a', 'rz01b', 'rz01a']], [['rz01a']], [['rz01b', 'rz99z']]])('nodes with cells %j: kc2', (cells) => {
    expect(() => checkClusterIdentity(kc2, cells)).not.toThrow();
  });

  test("nodes of another cluster's cells: refused naming that cluster", () => {
    const err = refusal(() => checkClusterIdentity(kc2, ['rz00a', 'rz00b']));
    expect(err.code).toBe('WRONG_CLUSTER');
    expect(err.message).toBe(
      "the kubeconfig's API server is not cluster kc2: its nodes carry cells rz00a, rz00b of cluster kc1; give the agent kc2's kubeconfig",
    );
  });

  test("one foreign cell among its own is refused too (credentials that reach two clusters' nodes are not one cluster's)", () => {
    expect(refusal(() => checkClusterIdentity(kc2, ['rz01a', 'rz02a'])).message).toMatch(/cells rz02a of cluster kc3/);
  });

  test('none of its cells: refused, saying what the nodes carry', () => {
    expect(refusal(() => checkClusterIdentity(kc2, [])).message).toBe(
      "the kubeconfig's API server holds none of cluster kc2's cells (rz01a, rz01b): its nodes carry no barista.dev/cell label; give the agent kc2's kubeconfig",
    );
    expect(refusal(() => checkClusterIdentity(kc2, ['other'])).message).toMatch(/its nodes carry cells other;/);
  });
});

test("the nodes' cells are read from their barista.dev/cell label, one list by label", async () => {
  const asked: unknown[] = [];
  const core = {
    listNode: async (req: unknown) => {
      asked.push(req);
      return {
        items: [
          { metadata: { labels: { 'barista.dev/cell': 'rz01a' } } },
          { metadata: { labels: { 'barista.dev/cell': '' } } },
          { metadata: {} },
          { metadata: { labels: { 'barista.dev/cell': 'rz01b' } } },
        ],
      };
    },
  };
  expect(await observeNodeCells(core as never)).toEqual(['rz01a', 'rz01b']);
  expect(asked).toEqual([{ labelSelector: 'barista.dev/cell' }]);
});
