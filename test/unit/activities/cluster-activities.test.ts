import { CLUSTER_ACTIVITY_NAMES, pickClusterActivities } from '../../../activities/cluster-activities.js';
import type { Activities } from '../../../activities/index.js';

test('an agent registers the single-cluster activities the workflows route, and nothing else', () => {
  const all = Object.fromEntries(
    ['resolveCells', 'resolveReachableCells', 'appendAudit', 'measureCheck', ...CLUSTER_ACTIVITY_NAMES].map((n) => [n, async () => n]),
  ) as unknown as Activities;
  expect(Object.keys(pickClusterActivities(all)).sort()).toEqual([
    'awaitClusterLost',
    'awaitGroupStable',
    'cellsInCluster',
    'ensureFinalizersLifted',
    'ensurePodHandedBack',
    'ensurePodMetadata',
    'ensurePodReleased',
    'ensureWorkload',
    'observeCellDrift',
    'probeClusters',
  ]);
  expect(pickClusterActivities(all).ensureWorkload).toBe(all.ensureWorkload);
});
