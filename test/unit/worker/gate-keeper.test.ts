import type { V1Pod } from '@kubernetes/client-node';
import { GATE_REASONS, TRAFFIC_READY } from '../../../activities/labels.js';
import { GateKeeper } from '../../../worker/gate-keeper.js';

/** A pod with Barista's readiness gate, its containers ready or not, and the gate condition as given. */
function pod(o: {
  containersReady: boolean;
  gate?: { status: 'True' | 'False'; reason: string };
  annotations?: Record<string, string>;
}): V1Pod {
  return {
    metadata: { name: 'p', namespace: 'n', ...(o.annotations ? { annotations: o.annotations } : {}) },
    spec: { containers: [{ name: 'app', image: 'x:1' }], readinessGates: [{ conditionType: TRAFFIC_READY }] },
    status: {
      conditions: [
        { type: 'ContainersReady', status: o.containersReady ? 'True' : 'False' },
        ...(o.gate ? [{ type: TRAFFIC_READY, ...o.gate }] : []),
      ],
    },
  };
}

describe('the gate keeper opens a pod only when no release holds it', () => {
  test('a new pod with ready containers is opened', () => {
    expect(GateKeeper.shouldOpen(pod({ containersReady: true }))).toBe(true);
  });

  test('not before its containers are ready', () => {
    expect(GateKeeper.shouldOpen(pod({ containersReady: false }))).toBe(false);
  });

  test('a pod a release closed for draining is left alone, even with ready containers', () => {
    expect(GateKeeper.shouldOpen(pod({ containersReady: true, gate: { status: 'False', reason: GATE_REASONS.draining } }))).toBe(false);
  });

  test('a pod handed back by a release (skip-pod) is opened once ready', () => {
    expect(GateKeeper.shouldOpen(pod({ containersReady: true, gate: { status: 'False', reason: GATE_REASONS.handedBack } }))).toBe(true);
  });

  test('the drain annotation of earlier versions is still honoured', () => {
    const legacy = pod({
      containersReady: true,
      gate: { status: 'False', reason: 'DrainedByBarista' },
      annotations: { 'barista.dev/draining': 'true' },
    });
    expect(GateKeeper.shouldOpen(legacy)).toBe(false);
  });

  test('an open gate needs nothing', () => {
    expect(GateKeeper.shouldOpen(pod({ containersReady: true, gate: { status: 'True', reason: GATE_REASONS.released } }))).toBe(false);
  });
});
