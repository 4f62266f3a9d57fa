import net from 'node:net';
import { SandboxError } from '../errors.js';

/** Ports this process has handed out: never handed out twice, even before their owner binds them. */
const handedOut = new Set<number>();

/** Asks the kernel for a free loopback port that this process has not handed out before. */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = net.createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
      });
    });
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

export function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A port the caller asked for must be free (error names it); without one, any free port will do. */
export async function choosePort(requested: number | undefined, purpose: string): Promise<number> {
  if (requested === undefined) return freePort();
  if (await isPortFree(requested)) return requested;
  throw new SandboxError(
    'PORT_IN_USE',
    `port ${requested} on 127.0.0.1 for ${purpose} is already in use; free it or choose another (leave it unset to pick a free one)`,
    { port: requested, purpose },
  );
}
