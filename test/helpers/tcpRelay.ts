/**
 * A TCP relay for partition tests: connections to its port are passed through to a target, until
 * `cut()`, from when every byte is silently dropped both ways while the sockets stay open (as in a
 * network partition: the server still sees a live session, the client gets no answer).
 */
import net from "node:net";

export interface TcpRelay {
  /** `url` with its host and port replaced by the relay's. */
  url(url: string): string;
  cut(): void;
  close(): Promise<void>;
}

/** @example const relay = await startTcpRelay(new URL(databaseUrl)); const viaRelay = relay.url(databaseUrl) */
export async function startTcpRelay(target: URL): Promise<TcpRelay> {
  let cut = false;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("error", () => undefined);
      s.on("close", () => sockets.delete(s));
    }
    client.on("data", (d) => cut || upstream.write(d));
    upstream.on("data", (d) => cut || client.write(d));
    client.on("end", () => cut || upstream.end());
    upstream.on("end", () => cut || client.end());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: (u) => {
      const x = new URL(u);
      x.host = `127.0.0.1:${port}`;
      return x.toString();
    },
    cut: () => {
      cut = true;
    },
    close: () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
