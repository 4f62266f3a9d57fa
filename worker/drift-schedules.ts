import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import { DriftClient, MAX_DRIFT_INTERVAL_SECONDS, MIN_DRIFT_INTERVAL_SECONDS } from '../api/drift-client.js';
import { NODE_TENANT_LABEL } from '../activities/cell-label.js';
import type { Clusters } from '../activities/clusters.js';
import { dnsLabel } from '../domain/index.js';
import { DEFAULT_DRIFT_INTERVAL_SECONDS } from '../workflows/drift-definitions.js';

export interface DriftSchedulesOptions {
  /** A client of the worker's Temporal namespace. */
  client: Client;
  /** The worker's task queue: the scheduled runs go to it. */
  taskQueue: string;
  /** The worker's clusters: tenants are discovered from their nodes' `barista.dev/tenant` label. */
  clusters: Clusters;
  logger: Logger;
  /** BARISTA_DRIFT_TENANTS, BARISTA_DRIFT_INTERVAL_SECONDS (default: process.env). */
  env?: Record<string, string | undefined>;
}

export interface DriftSchedulesResult {
  tenants: string[];
  created: string[];
  existing: string[];
  failed: string[];
}

/**
 * At worker start: makes sure each tenant has its drift Schedule (docs/drift.md), created with the configured
 * interval when absent, left as it is when present. Tenants: BARISTA_DRIFT_TENANTS (comma list; `none`: no
 * Schedules), else every tenant a node of a cluster is labelled with. Never throws: a cluster that does not answer
 * or a Temporal error is logged, and the worker goes on (the next worker start tries again).
 */
export async function ensureDriftSchedules(opts: DriftSchedulesOptions): Promise<DriftSchedulesResult> {
  const env = opts.env ?? process.env;
  const logger = opts.logger.child({ component: 'drift-schedules' });
  const result: DriftSchedulesResult = { tenants: [], created: [], existing: [], failed: [] };
  const configured = env.BARISTA_DRIFT_TENANTS?.trim();
  if (configured === 'none') {
    logger.info('drift schedules off (BARISTA_DRIFT_TENANTS=none)');
    return result;
  }
  const intervalSeconds = intervalFromEnv(env.BARISTA_DRIFT_INTERVAL_SECONDS, logger);
  result.tenants = configured ? tenantsFromList(configured, logger) : await discoverTenants(opts.clusters, logger);
  const drift = new DriftClient(opts.client, opts.taskQueue);
  for (const tenant of result.tenants) {
    try {
      const { created, schedule } = await drift.ensureDriftSchedule(tenant, { intervalSeconds });
      (created ? result.created : result.existing).push(tenant);
      logger.info(
        { tenant, scheduleId: schedule.scheduleId, intervalSeconds: schedule.intervalSeconds, paused: schedule.paused },
        created ? 'drift schedule created' : 'drift schedule exists (left as it is)',
      );
    } catch (err) {
      result.failed.push(tenant);
      logger.error({ err, tenant }, 'drift schedule not ensured; the worker goes on without it');
    }
  }
  if (!result.tenants.length) logger.info('no tenants for drift schedules (no node has the label and BARISTA_DRIFT_TENANTS is unset)');
  return result;
}

function intervalFromEnv(value: string | undefined, logger: Logger): number {
  if (value === undefined || value.trim() === '') return DEFAULT_DRIFT_INTERVAL_SECONDS;
  const seconds = Number(value);
  if (Number.isInteger(seconds) && seconds >= MIN_DRIFT_INTERVAL_SECONDS && seconds <= MAX_DRIFT_INTERVAL_SECONDS) return seconds;
  logger.warn(
    { value, default: DEFAULT_DRIFT_INTERVAL_SECONDS },
    `BARISTA_DRIFT_INTERVAL_SECONDS must be whole seconds from ${MIN_DRIFT_INTERVAL_SECONDS} to ${MAX_DRIFT_INTERVAL_SECONDS}; using the default`,
  );
  return DEFAULT_DRIFT_INTERVAL_SECONDS;
}

function tenantsFromList(list: string, logger: Logger): string[] {
  const tenants = new Set<string>();
  for (const name of list.split(',').map((t) => t.trim())) {
    if (!name) continue;
    if (dnsLabel.safeParse(name).success) tenants.add(name);
    else logger.warn({ tenant: name }, 'BARISTA_DRIFT_TENANTS: not a tenant name (a DNS label); ignored');
  }
  return [...tenants].sort();
}

/** Every value of the tenant label on the nodes of every cluster that answers. */
export async function discoverTenants(clusters: Clusters, logger: Logger): Promise<string[]> {
  const tenants = new Set<string>();
  await Promise.all(
    clusters.names().map(async (cluster) => {
      try {
        const nodes = await clusters.get(cluster).core.listNode({ labelSelector: NODE_TENANT_LABEL });
        for (const node of nodes.items) {
          const tenant = node.metadata?.labels?.[NODE_TENANT_LABEL];
          if (tenant && dnsLabel.safeParse(tenant).success) tenants.add(tenant);
        }
      } catch (err) {
        logger.warn({ err, cluster }, 'cluster did not answer: its tenants get no drift schedule from this start');
      }
    }),
  );
  return [...tenants].sort();
}
