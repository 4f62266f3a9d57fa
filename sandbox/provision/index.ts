import type { Progress } from '../progress.js';
import { ensureKubernetesBinaries } from './kubernetes.js';
import { ensureTemporalCli } from './temporal.js';
import { ensureTemporalTestServer } from './temporal-test-server.js';
import { ensureComposeSchema } from './compose-schema.js';
import { ensurePrometheus } from './prometheus.js';

export { ensureKubernetesBinaries } from './kubernetes.js';
export { ensurePrometheus } from './prometheus.js';
export { ensureTemporalCli } from './temporal.js';
export { ensureTemporalTestServer } from './temporal-test-server.js';
export { composeSchemaPath, ensureComposeSchema } from './compose-schema.js';

/** Ensures every binary the sandbox runs is in the cache. Safe to call on every start. */
export async function provisionAll(progress: Progress): Promise<void> {
  await ensureTemporalCli(progress);
  await ensureTemporalTestServer(progress);
  await ensureKubernetesBinaries(progress);
  await ensurePrometheus(progress);
  await ensureComposeSchema(progress);
}
