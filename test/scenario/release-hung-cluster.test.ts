import { CoreV1Api } from '@kubernetes/client-node';
import { observeKubeRequests, type KubeRequest } from '../../worker/kube/api-client.js';
import { eventually, uniqueName } from '../support/sandbox.js';
import { appPods, imageOf, restartsOf, startReleaseHarness, waitForStatus, type ReleaseHarness } from '../support/release-harness.js';
import { appSpec } from '../support/app-spec.js';

// kc5 is faulted by this file only (test/fixtures/topology.yaml): its API server is frozen, its node stopped.
const CLUSTER = 'kc5';
const CELL = 'rz04a';
const NODE = 'rz04a-n0';
const ns = 'globex-staging';

let h: ReleaseHarness;
beforeAll(async () => {
  h = await startReleaseHarness();
});
afterAll(async () => {
  await h?.stop();
});

const spec = (name: string, image: string, replicasPerCell: number) =>
  appSpec(name, image, { tenant: 'globex', workspace: 'staging', cells: [CELL], replicasPerCell });

async function deployed(app: string, replicas: number): Promise<void> {
  const { revision } = await h.releases.upsertApp(spec(app, 'registry.local/h:1.0', replicas), 'alice');
  const ref = await h.releases.startRelease({ app, tenant: 'globex', revision, requestedBy: 'alice', strategy: { groups: 1 } });
  expect((await h.releases.result(ref)).state).toBe('succeeded');
}

/** Server-side applies of the pods' images that this process sent to kc5, per pod (each filled with its answer's status). */
function countImageApplies(app: string): { perPod: Map<string, KubeRequest[]>; stop: () => void } {
  const perPod = new Map<string, KubeRequest[]>();
  const prefix = `/api/v1/namespaces/${ns}/pods/${app}-`;
  const stop = observeKubeRequests((r) => {
    if (r.cluster !== CLUSTER || r.method !== 'PATCH' || r.contentType !== 'application/apply-patch+yaml') return;
    if (!r.path.startsWith(prefix) || r.path.slice(prefix.length).includes('/')) return; // not pods/status
    const pod = r.path.split('/').pop()!;
    perPod.set(pod, [...(perPod.get(pod) ?? []), r]);
  });
  return { perPod, stop };
}

test('an API server frozen mid-release (SIGSTOP) pauses the release naming the cluster within the pod budget; thawed and resumed, each pod is written once', async () => {
  const app = uniqueName('hung');
  await deployed(app, 3);
  const before = new Map((await appPods(h.sandbox, CLUSTER, ns, app)).map((p) => [p.metadata!.name!, restartsOf(p)]));
  await h.releases.upsertApp(spec(app, 'registry.local/h:2.0', 3), 'alice');
  const applies = countImageApplies(app);
  await h.sandbox.control.setStartLatency(CLUSTER, 2_000);
  let frozen = false;
  try {
    const ref = await h.releases.startRelease({
      app,
      tenant: 'globex',
      requestedBy: 'alice',
      strategy: { groups: 1, maxConcurrentPods: 1, podTimeoutSeconds: 20 },
    });
    await waitForStatus(
      h.releases,
      ref,
      'one pod done, the next in progress',
      (s) => s.pods.some((p) => p.state === 'done') && s.pods.some((p) => p.state === 'in-progress'),
    );
    await h.sandbox.control.freezeCluster(CLUSTER);
    frozen = true;
    // a hung cluster pauses like a refused one: without the deadlines the release stays running for ever
    const paused = await waitForStatus(h.releases, ref, 'paused by the frozen API server', (s) => s.state === 'paused', 120_000);
    expect(paused.paused).toMatchObject({ by: 'barista' });
    expect(paused.paused?.reason).toMatch(/cluster kc5 not answering for \d+s/);
    expect(paused.pods.find((p) => p.name === paused.paused?.pod)?.state).toBe('failed');

    const appliedWhileFrozen = new Map([...applies.perPod].map(([pod, sent]) => [pod, sent.length]));
    await h.sandbox.control.thawCluster(CLUSTER);
    frozen = false;
    // nothing left over wakes up and writes once the API server answers again
    await new Promise((r) => setTimeout(r, 5_000));
    expect(new Map([...applies.perPod].map(([pod, sent]) => [pod, sent.length]))).toEqual(appliedWhileFrozen);

    await h.releases.resume(ref, { by: 'oncall', reason: 'kc5 answers again' });
    expect((await h.releases.result(ref)).state).toBe('succeeded');
  } finally {
    applies.stop();
    if (frozen) await h.sandbox.control.thawCluster(CLUSTER);
    await h.sandbox.control.setStartLatency(CLUSTER, 300);
  }
  const after = await eventually('pods listed after the thaw', () => appPods(h.sandbox, CLUSTER, ns, app));
  expect(after.map(imageOf)).toEqual(Array(3).fill('registry.local/h:2.0'));
  for (const pod of after) {
    const name = pod.metadata!.name!;
    // the image applied once: never an apply after an answered one; one is sent again only when the one before it
    // went into the frozen API server and was given up on unanswered
    const answers = (applies.perPod.get(name) ?? []).map((r) => r.status ?? 'unanswered');
    const once = answers.length > 0 && answers.slice(0, -1).every((a) => a === 'unanswered');
    expect({ name, answers, once }).toEqual({ name, answers, once: true });
    expect([name, restartsOf(pod)]).toEqual([name, before.get(name)! + 1]); // and the container restarted once
  }
});

test('a cluster hung before the release starts pauses it resolving cells, naming the cluster; thawed and resumed, it completes', async () => {
  const app = uniqueName('hungearly');
  await deployed(app, 1);
  await h.releases.upsertApp(spec(app, 'registry.local/h:2.0', 1), 'alice');
  await h.sandbox.control.freezeCluster(CLUSTER);
  let frozen = true;
  try {
    const ref = await h.releases.startRelease({
      app,
      tenant: 'globex',
      requestedBy: 'alice',
      strategy: { groups: 1, podTimeoutSeconds: 10 },
    });
    const paused = await waitForStatus(h.releases, ref, 'paused resolving cells', (s) => s.state === 'paused');
    expect(paused.paused).toMatchObject({ step: 'resolve-cells', by: 'barista' });
    expect(paused.paused?.reason).toMatch(/cells rz04a not found while clusters fail: (.*; )?cluster kc5: no answer/);
    await h.sandbox.control.thawCluster(CLUSTER);
    frozen = false;
    await h.releases.resume(ref, { by: 'oncall', reason: 'kc5 answers again' });
    expect((await h.releases.result(ref)).state).toBe('succeeded');
  } finally {
    if (frozen) await h.sandbox.control.thawCluster(CLUSTER);
  }
});

test('a pod whose node is NotReady pauses the release naming the node, not only the container', async () => {
  const app = uniqueName('nodedown');
  await deployed(app, 1);
  await h.releases.upsertApp(spec(app, 'registry.local/h:2.0', 1), 'alice');
  const core = h.sandbox.kubeConfig(CLUSTER).makeApiClient(CoreV1Api);
  await h.sandbox.control.stopNode(NODE);
  let stopped = true;
  try {
    await eventually('the node to be NotReady', async () => {
      const node = await core.readNode({ name: NODE });
      return node.status?.conditions?.find((c) => c.type === 'Ready')?.status !== 'True' ? node : undefined;
    });
    const ref = await h.releases.startRelease({
      app,
      tenant: 'globex',
      requestedBy: 'alice',
      strategy: { groups: 1, podTimeoutSeconds: 10 },
    });
    const paused = await waitForStatus(h.releases, ref, 'paused on the pod of the stopped node', (s) => s.state === 'paused');
    expect(paused.paused).toMatchObject({ pod: `${app}-${CELL}-0`, step: 'await-ready', by: 'barista' });
    expect(paused.paused?.reason).toMatch(/container app to become ready/);
    expect(paused.paused?.reason).toMatch(new RegExp(`node ${NODE} is NotReady since \\S+ \\(NodeStatusUnknown`));
    await h.sandbox.control.startNode(NODE);
    stopped = false;
    await h.releases.resume(ref, { by: 'oncall', reason: 'node is back' });
    expect((await h.releases.result(ref)).state).toBe('succeeded');
  } finally {
    if (stopped) await h.sandbox.control.startNode(NODE);
  }
});
