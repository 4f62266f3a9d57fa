import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoordinationV1Api } from '@kubernetes/client-node';
import { createLogger } from '../../sandbox/logger.js';
import { startGateKeepers } from '../../worker/gate-keeper.js';
import { LEASE_NAMESPACE } from '../../worker/kube/leader-election.js';
import { connectSandbox, eventually, uniqueName, type TestSandbox } from '../support/sandbox.js';

/**
 * Many workers, one gate keeper acting per cluster: each cluster's Lease (real API servers) elects one; a
 * leader killed with SIGKILL (no chance to let go) is replaced within the lease time by a standby.
 */
let sb: TestSandbox;
const children: ChildProcess[] = [];
beforeAll(async () => {
  sb = await connectSandbox();
});
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
});

const LEASE_SECONDS = 6; // as test/fixtures/gate-keeper-process.ts campaigns

function startKeeperProcess(lease: string): { child: ChildProcess; leading: () => string } {
  const root = path.resolve(fileURLToPath(new URL('../..', import.meta.url)));
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'test', 'fixtures', 'gate-keeper-process.ts')], {
    cwd: root,
    env: { ...process.env, KUBECONFIG: sb.info.kubeconfig, BARISTA_TEST_LEASE: lease },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  let leading = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (line.startsWith('leading ')) leading = line.slice('leading '.length);
  });
  return { child, leading: () => leading };
}

async function holderOf(cluster: string, lease: string): Promise<string | undefined> {
  const api = sb.kubeConfig(cluster).makeApiClient(CoordinationV1Api);
  const l = await api.readNamespacedLease({ name: lease, namespace: LEASE_NAMESPACE });
  return l.spec?.holderIdentity || undefined;
}

test('one keeper leads per cluster; SIGKILL of the leader hands every cluster to the standby within the lease time', async () => {
  const lease = uniqueName('gk-test');
  const clusters = sb.info.clusters.map((c) => c.name).sort();
  const a = startKeeperProcess(lease);
  await eventually('the first keeper to lead every cluster', async () => (a.leading() === clusters.join(',') ? true : undefined), 60_000);

  const b = await startGateKeepers(sb.info.kubeconfig, createLogger('gate-keeper', 'warn'), {
    lease,
    leaseSeconds: LEASE_SECONDS,
    retrySeconds: 1,
    identity: 'standby-b',
  });
  try {
    // the standby campaigns for a while and takes nothing: the leader renews
    await new Promise((r) => setTimeout(r, (LEASE_SECONDS + 2) * 1000));
    expect(b.leading()).toEqual([]);
    for (const cluster of clusters) expect(await holderOf(cluster, lease)).not.toBe('standby-b');

    const killedAt = Date.now();
    a.child.kill('SIGKILL');
    await eventually('the standby to lead every cluster', async () => (b.leading().length === clusters.length ? true : undefined), 60_000);
    const tookOverSeconds = (Date.now() - killedAt) / 1000;
    console.log(`standby took over ${clusters.length} clusters ${tookOverSeconds.toFixed(1)}s after SIGKILL (lease ${LEASE_SECONDS}s)`);
    // within the lease time, plus slack for a loaded machine (the figure is printed above)
    expect(tookOverSeconds).toBeLessThan(LEASE_SECONDS * 3);
    for (const cluster of clusters) expect(await holderOf(cluster, lease)).toBe('standby-b');
  } finally {
    await b.stop();
  }
  // stopping lets go at once: the lease is free for the next
  for (const cluster of clusters) expect(await holderOf(cluster, lease)).toBeUndefined();
}, 180_000);
