import net from 'node:net';
import { choosePort, freePort } from '../../../sandbox/process/ports.js';

test('a requested port that is taken is refused with a message naming it and its purpose', async () => {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  try {
    await expect(choosePort(port, 'the Temporal server')).rejects.toMatchObject({
      code: 'PORT_IN_USE',
      message: expect.stringContaining(`port ${port} on 127.0.0.1 for the Temporal server is already in use`),
    });
  } finally {
    server.close();
  }
});

test('without a request any free port is chosen', async () => {
  const port = await choosePort(undefined, 'x');
  expect(port).toBeGreaterThan(0);
  expect(await freePort()).toBeGreaterThan(0);
});
