import type { V1Pod } from '@kubernetes/client-node';
import { NodePlacement } from '../../../sandbox/kubelet/node-placement.js';

function pod(uid: string, nodeName?: string, podIP?: string): V1Pod {
  return { metadata: { uid, name: uid, namespace: 'ns' }, spec: { containers: [], nodeName }, status: podIP ? { podIP } : {} };
}

describe('NodePlacement', () => {
  it('counts pods per node from bindings and from the pods themselves, the pod winning', () => {
    const p = new NodePlacement();
    p.bind('a', 'n1');
    p.bind('b', 'n1');
    p.track(pod('b', 'n2')); // someone else bound it elsewhere
    p.track(pod('c')); // not bound yet: nowhere
    expect([p.podsOn('n1'), p.podsOn('n2'), p.podsOn('n3')]).toEqual([1, 1, 0]);
    p.track(pod('a', 'n1')); // the watch confirms our binding: not counted twice
    expect(p.podsOn('n1')).toBe(1);
    p.forget('a');
    p.forget('a');
    expect(p.podsOn('n1')).toBe(0);
  });

  it('gives an IP on a node to one pod only, and frees it when the pod is gone', () => {
    const p = new NodePlacement();
    p.track(pod('a', 'n1', '10.0.1.2'));
    expect(p.assignIP('b', 'n1', '10.0.1.2')).toBe(false);
    expect(p.assignIP('b', 'n2', '10.0.1.2')).toBe(true); // another node's range is its own
    expect(p.assignIP('c', 'n1', '10.0.1.3')).toBe(true);
    expect(p.assignIP('c', 'n1', '10.0.1.3')).toBe(true); // asking again for its own IP
    expect(p.ipOf('c')).toBe('10.0.1.3');
    p.forget('a');
    expect(p.ipOf('a')).toBeUndefined();
    expect(p.assignIP('d', 'n1', '10.0.1.2')).toBe(true);
  });

  it('follows a pod whose status reports another IP than the one recorded', () => {
    const p = new NodePlacement();
    expect(p.assignIP('a', 'n1', '10.0.1.2')).toBe(true);
    p.track(pod('a', 'n1', '10.0.1.9'));
    expect(p.ipOf('a')).toBe('10.0.1.9');
    expect(p.assignIP('b', 'n1', '10.0.1.2')).toBe(true);
    expect(p.assignIP('c', 'n1', '10.0.1.9')).toBe(false);
  });
});
