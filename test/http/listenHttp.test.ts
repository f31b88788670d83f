/**
 * listenHttp: a real server on an ephemeral port; close() returns while a client still holds a
 * keep-alive connection; a port in use rejects with the system's error and leaves nothing open.
 */
import { Agent, request } from "node:http";
import { describe, expect, it } from "vitest";
import { listenHttp } from "../../src/http/listenHttp";

const get = (url: string, agent: Agent) =>
  new Promise<string>((resolve, reject) => {
    request(url, { agent }, (res) => {
      let body = "";
      res.on("data", (c) => (body += c));
      res.on("end", () => resolve(body));
    })
      .on("error", reject)
      .end();
  });

describe("listenHttp", () => {
  it("serves on the port it reports and closes despite an idle keep-alive connection", async () => {
    const http = await listenHttp((_req, res) => res.end("hello"), "127.0.0.1", 0);
    expect(http.port).toBeGreaterThan(0);
    expect(http.url).toBe(`http://127.0.0.1:${http.port}`);
    const agent = new Agent({ keepAlive: true });
    expect(await get(http.url, agent)).toBe("hello");
    const started = Date.now();
    await http.close();
    expect(Date.now() - started).toBeLessThan(2000);
    expect(http.server.listening).toBe(false);
    agent.destroy();
  });

  it("a wildcard host is reached on 127.0.0.1; an IPv6 host is bracketed", async () => {
    const any = await listenHttp((_req, res) => res.end(), "0.0.0.0", 0);
    expect(any.url).toBe(`http://127.0.0.1:${any.port}`);
    await any.close();
    const v6 = await listenHttp((_req, res) => res.end(), "::1", 0).catch(() => undefined); // no IPv6 loopback on some hosts
    if (v6) {
      expect(v6.url).toBe(`http://[::1]:${v6.port}`);
      await v6.close();
    }
  });

  it("a port in use rejects with EADDRINUSE", async () => {
    const first = await listenHttp((_req, res) => res.end(), "127.0.0.1", 0);
    await expect(listenHttp((_req, res) => res.end(), "127.0.0.1", first.port)).rejects.toMatchObject({ code: "EADDRINUSE" });
    await first.close();
  });
});
