import { cacheDir } from '../paths.js';
import { createProgress } from '../progress.js';
import { provisionAll } from './index.js';

async function run(): Promise<void> {
  const progress = createProgress();
  const started = Date.now();
  await provisionAll(progress);
  progress.info(`substrate ready in ${cacheDir()} (${((Date.now() - started) / 1000).toFixed(1)}s)`);
}

run().catch((err: unknown) => {
  process.stderr.write(`[barista] provisioning failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
