import type { ReleaseClient } from '../../api/release-client.js';
import { appSpec } from './app-spec.js';

/** An App of tenant acme/prod with `replicasPerCell` pods in each of `cells`. */
export interface TestApp {
  name: string;
  cells: string[];
  replicasPerCell: number;
}

/** Registers each App at `registry.local/<name>:1` and releases it everywhere (one group), so that a next revision has pods to change. */
export async function deployApps(releases: ReleaseClient, apps: TestApp[]): Promise<void> {
  await Promise.all(
    apps.map(async (a) => {
      await releases.upsertApp(appSpec(a.name, `registry.local/${a.name}:1`, a), 'alice');
      const ref = await releases.startRelease({ app: a.name, tenant: 'acme', requestedBy: 'alice', strategy: { groups: 1 } });
      const { state } = await releases.result(ref);
      if (state !== 'succeeded') throw new Error(`the first release of ${a.name} ended ${state}`);
    }),
  );
}

/** Registers the App's next revision with `image` (default `registry.local/<name>:2`). */
export async function registerNext(releases: ReleaseClient, a: TestApp, image = `registry.local/${a.name}:2`): Promise<number> {
  return (await releases.upsertApp(appSpec(a.name, image, a), 'alice')).revision;
}
