// Entry point for the worker's workflow bundle: every workflow Barista runs.
export { appEntity } from './app-entity.js';
export { appRelease } from './app-release.js';
export { checkCells, checkClusters } from './check-cells.js';
export { releaseQueue } from './queued-release.js';
export { releaseBatch } from './release-batch.js';
export { probeClusters } from './probe-clusters.js';
export { releaseTicket } from './release-ticket.js';
export { tenantSettings } from './tenant-settings.js';
export { driftRepair } from './drift-repair.js';
export { tenantNotifications } from './tenant-notifications.js';
