import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A fixed port is taken; the message names the port, the service and the option that changes it. */
export class PortInUseError extends Error {
  override name = 'PortInUseError';
}

/**
 * Starts `server` listening on 127.0.0.1 and returns the port (useful with port 0, which picks a free one).
 * `option` is the command-line flag that sets this port, for the error message.
 */
export function listenOnLoopback(
  server: Server,
  port: number,
  service: string,
  option?: string,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      if (error.code === 'EADDRINUSE') {
        const fix = option
          ? `stop the process that uses it or pass ${option} with a free port`
          : 'choose another port';
        reject(
          new PortInUseError(`port ${port} for ${service} is already in use on 127.0.0.1: ${fix}`, {
            cause: error,
          }),
        );
      } else {
        reject(
          new Error(`${service} cannot listen on 127.0.0.1:${port}: ${error.message}`, { cause: error }),
        );
      }
    };
    const onListening = () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, '127.0.0.1');
  });
}

/** Closes a server and drops its keep-alive connections, so close does not wait for idle clients. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });
}

/**
 * Closes a server after the requests in progress have been served, waiting at most `graceMs` before dropping the
 * connections that are still open (a client polling over keep-alive would otherwise hold it open). For servers whose
 * close releases something those requests use, such as dynalite's database.
 */
export function closeServerAfterRequests(server: Server, graceMs = 2000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => server.closeAllConnections(), graceMs);
    server.close((error) => {
      clearTimeout(timer);
      if (error) reject(error);
      else resolve();
    });
    server.closeIdleConnections();
  });
}
