import type { V1Pod } from '@kubernetes/client-node';
import { decidePodStatus, type PodStatusContext } from '../../../sandbox/kubelet/pod-status.js';

const t0 = new Date('2026-01-01T00:00:00Z');
const at = (ms: number) => new Date(t0.getTime() + ms);

function ctx(overrides: Partial<PodStatusContext> = {}): PodStatusContext {
  return {
    now: t0,
    startLatencyMs: 1000,
    nodeUp: true,
    isBadImage: () => false,
    podIP: '10.200.0.2',
    hostIP: '10.100.0.2',
    startedAt: () => t0,
    ...overrides,
  };
}

function pod(image: string, status: V1Pod['status'] = {}, gates: string[] = []): V1Pod {
  return {
    metadata: { name: 'p', namespace: 'n', uid: 'u' },
    spec: { containers: [{ name: 'app', image }], readinessGates: gates.map((conditionType) => ({ conditionType })) },
    status,
  };
}

/** Applies decisions until the pod is stable at `now` (as the kubelet's requeues would). */
function settle(p: V1Pod, c: PodStatusContext): V1Pod {
  for (let i = 0; i < 5; i++) {
    const d = decidePodStatus(p, c);
    if (!d.patch) return p;
    p = { ...p, status: d.patch as V1Pod['status'] };
  }
  throw new Error('status did not settle');
}

const ready = (p: V1Pod) => p.status?.conditions?.find((c) => c.type === 'Ready')?.status;

test('a new pod starts after the latency and is Running and Ready', () => {
  const first = decidePodStatus(pod('img:1'), ctx());
  expect(first.requeueAfterMs).toBe(1000);
  const starting = { ...pod('img:1'), status: first.patch as V1Pod['status'] };
  expect(starting.status?.phase).toBe('Pending');
  expect(ready(starting)).toBe('False');
  const running = settle(starting, ctx({ now: at(1000) }));
  expect(running.status?.phase).toBe('Running');
  expect(running.status?.containerStatuses?.[0]).toMatchObject({ image: 'img:1', ready: true, restartCount: 0 });
  expect(running.status?.podIP).toBe('10.200.0.2');
  expect(ready(running)).toBe('True');
});

test('Ready waits for every readiness gate; the gate condition itself is never written by the kubelet', () => {
  const running = settle(settle(pod('img:1', {}, ['barista.dev/traffic-ready']), ctx()), ctx({ now: at(1000) }));
  expect(ready(running)).toBe('False');
  expect(running.status?.conditions?.some((c) => c.type === 'barista.dev/traffic-ready')).toBe(false);
  const gated = {
    ...running,
    status: {
      ...running.status,
      conditions: [...(running.status?.conditions ?? []), { type: 'barista.dev/traffic-ready', status: 'True' }],
    },
  };
  const after = settle(gated, ctx({ now: at(2000) }));
  expect(ready(after)).toBe('True');
  expect(after.status?.conditions?.find((c) => c.type === 'barista.dev/traffic-ready')?.status).toBe('True');
});

test('an in-place image change restarts the container once, keeps the IP, and is ready after the latency', () => {
  const v1 = settle(settle(pod('img:1'), ctx()), ctx({ now: at(1000) }));
  const changed = { ...v1, spec: { ...v1.spec!, containers: [{ name: 'app', image: 'img:2' }] } };
  const restarting = settle(changed, ctx({ now: at(5000), startedAt: () => at(5000) }));
  expect(restarting.status?.containerStatuses?.[0]).toMatchObject({ image: 'img:2', ready: false, restartCount: 1 });
  const again = settle(restarting, ctx({ now: at(5500), startedAt: () => at(5000), podIP: '10.9.9.9' }));
  expect(again.status?.containerStatuses?.[0]?.restartCount).toBe(1); // not restarted twice
  const done = settle(again, ctx({ now: at(6000), startedAt: () => at(5000), podIP: '10.9.9.9' }));
  expect(done.status?.containerStatuses?.[0]).toMatchObject({ image: 'img:2', ready: true, restartCount: 1 });
  expect(done.status?.podIP).toBe('10.200.0.2');
});

test('a bad image never becomes ready; a stopped node makes running containers unready', () => {
  const bad = settle(
    settle(pod('img:bad'), ctx({ isBadImage: (i) => i === 'img:bad' })),
    ctx({ now: at(60_000), isBadImage: (i) => i === 'img:bad' }),
  );
  expect(bad.status?.containerStatuses?.[0]?.state?.waiting?.reason).toBe('ErrImagePull');
  expect(ready(bad)).toBe('False');
  const good = settle(settle(pod('img:1'), ctx()), ctx({ now: at(1000) }));
  const down = settle(good, ctx({ now: at(2000), nodeUp: false }));
  expect(ready(down)).toBe('False');
  expect(ready(settle(down, ctx({ now: at(3000) })))).toBe('True');
});

test('nothing to write when the status already matches', () => {
  const running = settle(settle(pod('img:1'), ctx()), ctx({ now: at(1000) }));
  expect(decidePodStatus(running, ctx({ now: at(9000) })).patch).toBeUndefined();
});
