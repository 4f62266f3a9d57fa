import { CoordinationV1Api, CoreV1Api, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { makeApiClient } from './api-client.js';
import { isStatus as isKubeStatus } from '../../activities/kube-errors.js';

/** Namespace of Barista's Leases in each cluster (created if missing). */
export const LEASE_NAMESPACE = 'barista-system';

export interface LeaderElectionOptions {
  /** Lease name: one per duty (`barista-gate-keeper`, `barista-traffic-service`). */
  lease: string;
  /** Who this process is (host and pid, say): written as the Lease's holder. */
  identity: string;
  /** How long a leader's lease lasts without renewal before another may take it. */
  leaseSeconds?: number;
  /** How often the leader renews, and a candidate tries. */
  retrySeconds?: number;
}

/** A duty that runs only while this process leads: started when it takes the lease, stopped when it loses it. */
export interface LeaderDuty {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Lease-based leader election (coordination.k8s.io/v1), as Kubernetes' own controllers do it: a candidate takes
 * the Lease when it is free or its holder has not renewed it for `leaseSeconds`, counted on this process's clock
 * from when it last saw the Lease change (the holder's clock and its claimed duration are not trusted); every
 * write carries the resourceVersion it read, so two candidates never both win. A leader that cannot renew for
 * two thirds of the lease stops its duty before anyone else may take over. Stopping releases the Lease at once.
 */
export class LeaderElector {
  private readonly leases: CoordinationV1Api;
  private readonly core: CoreV1Api;
  private readonly leaseMs: number;
  private readonly retryMs: number;
  private observed: { record: string; at: number } | undefined;
  private leading = false;
  private lastRenewal = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private tick: Promise<void> = Promise.resolve();

  constructor(
    kc: KubeConfig,
    private readonly options: LeaderElectionOptions,
    private readonly duty: LeaderDuty,
    private readonly logger: Logger,
  ) {
    this.leases = makeApiClient(kc, CoordinationV1Api);
    this.core = makeApiClient(kc, CoreV1Api);
    this.leaseMs = (options.leaseSeconds ?? 15) * 1000;
    this.retryMs = (options.retrySeconds ?? 2) * 1000;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Starts campaigning; resolves after the first round (leading and the duty started, if the lease was free). */
  start(): Promise<void> {
    const loop = () => {
      if (this.stopped) return;
      this.tick = this.round().finally(() => {
        if (!this.stopped) this.timer = setTimeout(loop, this.retryMs);
      });
    };
    loop();
    return this.tick;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.tick;
    if (!this.leading) return;
    await this.stepDown('stopping');
    // let a successor take over at once rather than after the lease runs out
    await this.release().catch((err: unknown) => this.logger.warn({ err: String(err) }, 'could not release the lease'));
  }

  private async round(): Promise<void> {
    try {
      const held = await this.tryAcquireOrRenew();
      if (held) {
        this.lastRenewal = Date.now();
        if (!this.leading) {
          this.leading = true;
          this.logger.info({ lease: this.options.lease, identity: this.options.identity }, 'took the lease: leading');
          try {
            await this.duty.start();
          } catch (err) {
            // still holding the lease: the next round starts the duty again
            this.leading = false;
            await this.duty.stop().catch(() => undefined);
            throw err;
          }
        }
        return;
      }
      if (this.leading) await this.stepDown('another holder has the lease');
    } catch (err) {
      this.logger.warn({ err: err instanceof Error ? err.message : String(err), lease: this.options.lease }, 'lease round failed');
      // a leader that cannot renew stops before its lease can run out and a successor start
      if (this.leading && Date.now() - this.lastRenewal > (this.leaseMs * 2) / 3) await this.stepDown('could not renew the lease');
    }
  }

  private async stepDown(why: string): Promise<void> {
    this.leading = false;
    this.logger.info({ lease: this.options.lease, why }, 'stopped leading');
    await this.duty.stop();
  }

  /** True when this process holds the Lease after this round. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const { lease: name, identity } = this.options;
    const now = microTime(new Date());
    let current: V1Lease;
    try {
      current = await this.leases.readNamespacedLease({ name, namespace: LEASE_NAMESPACE });
    } catch (err) {
      if (!isKubeStatus(err, 404)) throw err;
      await this.ensureNamespace();
      try {
        await this.leases.createNamespacedLease({
          namespace: LEASE_NAMESPACE,
          body: {
            metadata: { name },
            spec: {
              holderIdentity: identity,
              leaseDurationSeconds: this.leaseMs / 1000,
              acquireTime: now,
              renewTime: now,
              leaseTransitions: 0,
            },
          },
        });
        return true;
      } catch (createErr) {
        if (isKubeStatus(createErr, 409)) return false; // another candidate created it first
        throw createErr;
      }
    }
    const spec = current.spec ?? {};
    const record = JSON.stringify([spec.holderIdentity, spec.renewTime, spec.leaseTransitions]);
    if (this.observed?.record !== record) this.observed = { record, at: Date.now() };
    const holder = spec.holderIdentity ?? '';
    const mine = holder === identity;
    const expired = Date.now() - this.observed.at > this.leaseMs;
    if (holder && !mine && !expired) return false;
    try {
      await this.leases.replaceNamespacedLease({
        name,
        namespace: LEASE_NAMESPACE,
        body: {
          metadata: { name, resourceVersion: current.metadata?.resourceVersion },
          spec: {
            holderIdentity: identity,
            leaseDurationSeconds: this.leaseMs / 1000,
            acquireTime: mine ? spec.acquireTime : now,
            renewTime: now,
            leaseTransitions: (spec.leaseTransitions ?? 0) + (mine ? 0 : 1),
          },
        },
      });
      return true;
    } catch (err) {
      if (isKubeStatus(err, 409)) return false; // changed since read: someone else renewed or took it
      throw err;
    }
  }

  private async release(): Promise<void> {
    const current = await this.leases.readNamespacedLease({ name: this.options.lease, namespace: LEASE_NAMESPACE });
    if (current.spec?.holderIdentity !== this.options.identity) return;
    await this.leases.replaceNamespacedLease({
      name: this.options.lease,
      namespace: LEASE_NAMESPACE,
      body: { ...current, spec: { ...current.spec, holderIdentity: '', renewTime: microTime(new Date()) } },
    });
  }

  private async ensureNamespace(): Promise<void> {
    try {
      await this.core.createNamespace({ body: { metadata: { name: LEASE_NAMESPACE } } });
    } catch (err) {
      if (!isKubeStatus(err, 409)) throw err;
    }
  }
}

/**
 * A MicroTime as the API server parses it: RFC 3339 with exactly six fractional digits. client-node types it as a
 * Date but sends it as given, and a Date would go as JSON with three digits, which the API server refuses.
 */
function microTime(d: Date): Date {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z') as unknown as Date;
}

/** Who this process is, for Lease holders: host, pid and a random suffix (two workers on one host differ). */
export function processIdentity(): string {
  return `${process.env.HOSTNAME ?? 'host'}-${process.pid}-${Math.random().toString(36).slice(2, 7)}`;
}

/**
 * One duty per cluster, each behind its own Lease: however many processes run it, one acts per cluster. Returns
 * once every cluster had its first round; `leading()` names the clusters this process leads now.
 */
export async function leadPerCluster(
  clusters: Map<string, KubeConfig>,
  options: LeaderElectionOptions,
  dutyOf: (cluster: string, kc: KubeConfig) => LeaderDuty,
  logger: Logger,
): Promise<{ stop: () => Promise<void>; leading: () => string[] }> {
  const electors = [...clusters].map(
    ([cluster, kc]) => [cluster, new LeaderElector(kc, options, dutyOf(cluster, kc), logger.child({ cluster }))] as const,
  );
  await Promise.all(electors.map(([, e]) => e.start()));
  return {
    stop: async () => void (await Promise.all(electors.map(([, e]) => e.stop()))),
    leading: () => electors.filter(([, e]) => e.isLeader).map(([c]) => c),
  };
}

/** A duty made afresh each time this process takes the lease (an informer starts from a new list, not a stale cache). */
export function freshEachTerm(make: () => LeaderDuty): LeaderDuty {
  let current: LeaderDuty | undefined;
  return {
    start: async () => {
      current = make();
      await current.start();
    },
    stop: async () => {
      await current?.stop();
      current = undefined;
    },
  };
}
