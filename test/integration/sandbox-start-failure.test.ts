import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { Sandbox } from '../../sandbox/index.js';

/** Processes whose command line mentions `needle` (our children carry their run directory in their flags). */
function processesMentioning(needle: string): string[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      } catch {
        return '';
      }
    })
    .filter((cmd) => cmd.includes(needle));
}

test('a taken API server port fails the start with the port named, and leaves nothing running', async () => {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const port = (blocker.address() as net.AddressInfo).port;
  const runDir = mkdtempSync(path.join(os.tmpdir(), 'barista-fail-'));
  try {
    await expect(
      Sandbox.start({
        runDir,
        topology: {
          clusters: [
            { name: 'ok', cells: [{ name: 'c1' }] },
            { name: 'blocked', cells: [{ name: 'c2' }], apiServerPort: port },
          ],
        },
      }),
    ).rejects.toMatchObject({ code: 'PORT_IN_USE', message: expect.stringContaining(`port ${port}`) });
    expect(processesMentioning(runDir)).toEqual([]);
  } finally {
    blocker.close();
    rmSync(runDir, { recursive: true, force: true });
  }
});
