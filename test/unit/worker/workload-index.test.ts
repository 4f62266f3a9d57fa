import type { V1Pod } from '@kubernetes/client-node';
import { LABELS } from '../../../activities/labels.js';
import { WorkloadIndex } from '../../../worker/kube/pod-cache.js';

function pod(namespace: string, name: string, app?: string, cell?: string): V1Pod {
  const labels: Record<string, string> = {};
  if (app) labels[LABELS.app] = app;
  if (cell) labels[LABELS.cell] = cell;
  return { metadata: { namespace, name, labels } };
}

describe('WorkloadIndex', () => {
  it('finds the pods of an App, and of one of its cells, per namespace', () => {
    const index = new WorkloadIndex();
    index.update(pod('ns1', 'a-rz1-0', 'a', 'rz1'), false);
    index.update(pod('ns1', 'a-rz1-1', 'a', 'rz1'), false);
    index.update(pod('ns1', 'a-rz2-0', 'a', 'rz2'), false);
    index.update(pod('ns1', 'b-rz1-0', 'b', 'rz1'), false);
    index.update(pod('ns2', 'a-rz1-0', 'a', 'rz1'), false);
    index.update(pod('ns1', 'loose'), false); // no App label: never listed by App
    expect(index.names('ns1', 'a', 'rz1').sort()).toEqual(['a-rz1-0', 'a-rz1-1']);
    expect(index.names('ns1', 'a').sort()).toEqual(['a-rz1-0', 'a-rz1-1', 'a-rz2-0']);
    expect(index.names('ns2', 'a')).toEqual(['a-rz1-0']);
    expect(index.names('ns1', 'c')).toEqual([]);
    expect(index.names('ns1', 'a', 'rz9')).toEqual([]);
  });

  it('follows a pod whose labels change, and forgets a deleted one (repeated events change nothing)', () => {
    const index = new WorkloadIndex();
    index.update(pod('ns', 'p', 'a', 'rz1'), false);
    index.update(pod('ns', 'p', 'a', 'rz1'), false);
    index.update(pod('ns', 'p', 'a', 'rz2'), false);
    expect(index.names('ns', 'a', 'rz1')).toEqual([]);
    expect(index.names('ns', 'a', 'rz2')).toEqual(['p']);
    index.update(pod('ns', 'p', 'b', 'rz2'), false);
    expect(index.names('ns', 'a')).toEqual([]);
    index.update(pod('ns', 'p', 'b', 'rz2'), true);
    index.update(pod('ns', 'p', 'b', 'rz2'), true);
    expect(index.names('ns', 'b')).toEqual([]);
    index.update(pod('ns', 'p', 'b', 'rz2'), false); // recreated under the same name
    expect(index.names('ns', 'b', 'rz2')).toEqual(['p']);
    index.clear();
    expect(index.names('ns', 'b')).toEqual([]);
  });
});
