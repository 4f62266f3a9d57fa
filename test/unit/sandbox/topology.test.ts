import { DEFAULT_TOPOLOGY, parseTopology } from '../../../sandbox/topology.js';
import { SandboxError } from '../../../sandbox/errors.js';

function issuesOf(input: unknown): { field: string; message: string }[] {
  try {
    parseTopology(input);
  } catch (err) {
    expect(err).toBeInstanceOf(SandboxError);
    expect((err as SandboxError).code).toBe('INVALID_TOPOLOGY');
    return (err as SandboxError).details.issues as { field: string; message: string }[];
  }
  throw new Error('expected the topology to be rejected');
}

test('the default topology is two clusters of two cells, one tenant', () => {
  const t = parseTopology(DEFAULT_TOPOLOGY);
  expect(t.clusters.map((c) => c.name)).toEqual(['kc1', 'kc2']);
  expect(t.clusters.map((c) => c.cells.length)).toEqual([2, 2]);
  expect(t.clusters[0]).toMatchObject({ tenant: 'acme', workspace: 'prod', startLatencyMs: 300 });
  expect(t.clusters[0]!.cells[0]).toEqual({ name: 'rz00a', nodes: 2 });
});

test.each([
  [{}, 'clusters', /expected array/i],
  [{ clusters: [] }, 'clusters', /at least one cluster/],
  [{ clusters: [{ name: 'KC1', cells: [{ name: 'a' }] }] }, 'clusters[0].name', /lowercase/],
  [{ clusters: [{ name: 'kc1', cells: [] }] }, 'clusters[0].cells', /at least one cell/],
  [{ clusters: [{ name: 'kc1', cells: [{ name: 'a', nodes: 0 }] }] }, 'clusters[0].cells[0].nodes', /too small|>=1/i],
  [{ clusters: [{ name: 'kc1', cells: [{ name: 'a', nodes: 'two' }] }] }, 'clusters[0].cells[0].nodes', /expected number/i],
  [{ clusters: [{ name: 'kc1', cells: [{ name: 'a' }], startLatencyMs: -1 }] }, 'clusters[0].startLatencyMs', /too small|>=0/i],
  [{ clusters: [{ name: 'kc1', cells: [{ name: 'a' }], colour: 'red' }] }, 'clusters[0]', /unrecognized key.*colour/i],
  [
    {
      clusters: [
        { name: 'kc1', cells: [{ name: 'a' }] },
        { name: 'kc1', cells: [{ name: 'b' }] },
      ],
    },
    'clusters[1].name',
    /duplicate cluster name "kc1"/,
  ],
  [
    {
      clusters: [
        { name: 'kc1', cells: [{ name: 'a' }] },
        { name: 'kc2', cells: [{ name: 'a' }] },
      ],
    },
    'clusters[1].cells[0].name',
    /already belongs to cluster "kc1"/,
  ],
])('a malformed topology is rejected naming the field: %j', (input, field, message) => {
  const issues = issuesOf(input);
  const issue = issues.find((i) => i.field === field);
  expect(issue).toBeDefined();
  expect(issue!.message).toMatch(message);
});

test('the error message lists field and rule', () => {
  expect(() => parseTopology({ clusters: [{ name: 'kc1', cells: [{ name: 'Bad_Name' }] }] }, 'topology file x.yaml')).toThrow(
    /invalid topology file x\.yaml: clusters\[0\]\.cells\[0\]\.name: must be lowercase/,
  );
});
