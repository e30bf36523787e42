/**
 * A port nothing listens on right now, for a server a test starts itself. Engineers and CI share one machine, so a
 * fixed port (even one read from an optional variable) is taken by another checkout's run of the same test sooner
 * or later; the kernel's choice (port 0) never is.
 */
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';

/** Asks the kernel for a free port on 127.0.0.1 and gives it back at once (the caller binds it next). */
export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
