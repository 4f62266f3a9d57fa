import type { V1ContainerStatus, V1Pod, V1PodCondition } from '@kubernetes/client-node';

/** What the simulated kubelet knows besides the pod itself. Pure inputs, so the decision can be unit-tested. */
export interface PodStatusContext {
  now: Date;
  /** Simulated time from a container (re)start to running. */
  startLatencyMs: number;
  nodeUp: boolean;
  isBadImage: (image: string) => boolean;
  podIP: string;
  hostIP: string;
  /** When this container began starting with this image at this restart count; the caller remembers it. */
  startedAt: (container: string, image: string, restartCount: number) => Date;
}

export interface PodStatusDecision {
  /**
   * The whole status to write, or undefined when nothing changes. Lists are replaced as a whole, so the
   * caller must write it with the pod's resourceVersion as a precondition (a concurrent change → 409 → retry).
   */
  patch: Record<string, unknown> | undefined;
  /** Reconcile again after this many ms (a container still starting), if any. */
  requeueAfterMs: number | undefined;
}

const OWNED_CONDITIONS = ['PodReadyToStartContainers', 'Initialized', 'ContainersReady', 'Ready'] as const;

/**
 * Computes the status a kubelet would report: each container is started (or restarted, on an image change
 * made in place) and becomes ready after the start latency unless its image is marked bad or its node is
 * down; Ready honours the pod's readiness gates, which are written by others and never by us.
 */
export function decidePodStatus(pod: V1Pod, ctx: PodStatusContext): PodStatusDecision {
  const status = pod.status ?? {};
  const previous = new Map((status.containerStatuses ?? []).map((cs) => [cs.name, cs]));
  let requeueAfterMs: number | undefined;
  const containerStatuses: V1ContainerStatus[] = (pod.spec?.containers ?? []).map((container) => {
    const image = container.image ?? '';
    const prev = previous.get(container.name);
    if (!prev || prev.image !== image) {
      // first start, or the image was changed in place: the container restarts with the new image
      const restartCount = prev ? prev.restartCount + 1 : 0;
      const started = ctx.startedAt(container.name, image, restartCount);
      requeueAfterMs = minDefined(requeueAfterMs, remaining(started, ctx));
      return {
        name: container.name,
        image,
        imageID: '',
        restartCount,
        ready: false,
        started: false,
        state: { waiting: { reason: 'ContainerCreating' } },
        ...(prev ? { lastState: { terminated: { exitCode: 0, reason: 'ImageChanged', finishedAt: ctx.now } } } : {}),
      } satisfies V1ContainerStatus;
    }
    if (prev.state?.waiting) {
      const started = ctx.startedAt(container.name, image, prev.restartCount);
      const left = remaining(started, ctx);
      if (left > 0) {
        requeueAfterMs = minDefined(requeueAfterMs, left);
        return prev;
      }
      if (ctx.isBadImage(image)) {
        return {
          ...prev,
          ready: false,
          started: false,
          state: { waiting: { reason: 'ErrImagePull', message: `image ${image} cannot be started` } },
        };
      }
      return { ...prev, imageID: imageId(image), started: true, ready: ctx.nodeUp, state: { running: { startedAt: ctx.now } } };
    }
    return { ...prev, ready: ctx.nodeUp && prev.state?.running !== undefined };
  });

  const containersReady = containerStatuses.length > 0 && containerStatuses.every((cs) => cs.ready);
  const gatesTrue = (pod.spec?.readinessGates ?? []).every(
    (gate) => (status.conditions ?? []).find((c) => c.type === gate.conditionType)?.status === 'True',
  );
  const everRan = containerStatuses.every((cs) => cs.started || cs.restartCount > 0 || cs.state?.running);
  const wanted: Record<(typeof OWNED_CONDITIONS)[number], boolean> = {
    PodReadyToStartContainers: true,
    Initialized: true,
    ContainersReady: containersReady,
    Ready: containersReady && gatesTrue,
  };
  const owned: V1PodCondition[] = OWNED_CONDITIONS.map((type) => {
    const value = wanted[type] ? 'True' : 'False';
    const prev = (status.conditions ?? []).find((c) => c.type === type);
    return {
      type,
      status: value,
      lastTransitionTime: prev?.status === value && prev.lastTransitionTime ? prev.lastTransitionTime : ctx.now,
    };
  });
  // conditions owned by others (PodScheduled, readiness gates) are carried over untouched
  const others = (status.conditions ?? []).filter((c) => !(OWNED_CONDITIONS as readonly string[]).includes(c.type));
  const conditions = [...others, ...owned];

  const next = {
    phase: status.phase === 'Running' || everRan ? 'Running' : 'Pending',
    podIP: status.podIP ?? ctx.podIP,
    podIPs: status.podIPs ?? [{ ip: status.podIP ?? ctx.podIP }],
    hostIP: ctx.hostIP,
    hostIPs: [{ ip: ctx.hostIP }],
    startTime: status.startTime ?? ctx.now,
    conditions,
    containerStatuses,
  };
  return { patch: changed(status, next) ? next : undefined, requeueAfterMs };
}

function remaining(started: Date, ctx: PodStatusContext): number {
  return Math.max(0, started.getTime() + ctx.startLatencyMs - ctx.now.getTime());
}

function minDefined(a: number | undefined, b: number): number {
  return a === undefined ? b : Math.min(a, b);
}

function imageId(image: string): string {
  return `sandbox://${image}`;
}

/** Compares what the kubelet owns, ignoring timestamps that only move when something else changed. */
function changed(
  current: NonNullable<V1Pod['status']>,
  next: { phase: string; podIP: string; hostIP: string; conditions: V1PodCondition[]; containerStatuses: V1ContainerStatus[] },
): boolean {
  if (current.phase !== next.phase || current.podIP !== next.podIP || current.hostIP !== next.hostIP) return true;
  for (const c of next.conditions) {
    if ((current.conditions ?? []).find((x) => x.type === c.type)?.status !== c.status) return true;
  }
  const now = current.containerStatuses ?? [];
  if (now.length !== next.containerStatuses.length) return true;
  return next.containerStatuses.some((cs, i) => {
    const was = now[i];
    return (
      !was ||
      was.name !== cs.name ||
      was.image !== cs.image ||
      was.ready !== cs.ready ||
      was.restartCount !== cs.restartCount ||
      Boolean(was.state?.running) !== Boolean(cs.state?.running) ||
      was.state?.waiting?.reason !== cs.state?.waiting?.reason
    );
  });
}
