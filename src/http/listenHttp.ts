/**
 * Starts an HTTP server on a host and port (0: any free port) and gives back its URL and a close
 * that does not wait for idle keep-alive connections: the one listen/close every Hypha server
 * (API, store, watcher status, node agent) uses.
 */
import { createServer, type RequestListener, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface HttpListener {
  server: Server;
  /** The port bound (the one asked for, or the one the system picked for 0). */
  port: number;
  /** Where a client on this machine reaches it (a wildcard host is reached on 127.0.0.1). */
  url: string;
  /** Stops accepting, drops open connections (a poller's keep-alive would hold it open), resolves once closed. */
  close(): Promise<void>;
}

/**
 * Listens; rejects with the server's error (EADDRINUSE, EACCES ...) when it cannot.
 * @example const http = await listenHttp(app, "127.0.0.1", 0); console.log(http.url); await http.close();
 */
export async function listenHttp(handler: RequestListener, host: string, port: number): Promise<HttpListener> {
  const server = createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  const reachable = host === "0.0.0.0" || host === "::" || host === "" ? "127.0.0.1" : host;
  return {
    server,
    port: bound,
    url: `http://${reachable.includes(":") ? `[${reachable}]` : reachable}:${bound}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
