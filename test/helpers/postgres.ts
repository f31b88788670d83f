/**
 * A real PostgreSQL for tests: its own cluster, initdb'd into a temp dir and started on a free
 * port, stopped afterwards. Found under /usr/lib/postgresql/<version>/bin (Debian's `postgresql`
 * package; .ci/run installs it). initdb refuses to run as root, so as root the cluster runs as the
 * `postgres` user (or `nobody`). Without the binaries `postgresUnavailable` says why, and the
 * Postgres half of a suite is skipped with that reason.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import pg from "pg";

function findBin(): string | undefined {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(path.join(root, v, "bin", "initdb")))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? path.join(root, versions[0], "bin") : undefined;
}

const BIN = findBin();

/** Why Postgres tests cannot run here, or undefined when they can. */
export const postgresUnavailable: string | undefined = BIN
  ? undefined
  : "PostgreSQL is not installed here (no /usr/lib/postgresql/*/bin/initdb; .ci/run installs Debian's postgresql)";

function runAsUser(): { uid: number; gid: number; name: string } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  for (const name of ["postgres", "nobody"]) {
    const r = spawnSync("id", ["-u", name], { encoding: "utf8" });
    if (r.status === 0) return { uid: Number(r.stdout.trim()), gid: Number(spawnSync("id", ["-g", name], { encoding: "utf8" }).stdout.trim()), name };
  }
  throw new Error("running as root and neither a postgres nor a nobody user exists to run PostgreSQL as");
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

export interface TestPostgres {
  /** URL of a fresh, empty database in this cluster. */
  newDatabase(): Promise<string>;
  stop(): Promise<void>;
}

/** Starts a throw-away cluster (about 2 s). */
export async function startPostgres(): Promise<TestPostgres> {
  if (!BIN) throw new Error(postgresUnavailable);
  const dir = mkdtempSync(path.join(os.tmpdir(), "hypha-pg-"));
  const user = runAsUser();
  if (user) {
    chmodSync(dir, 0o755);
    chownSync(dir, user.uid, user.gid);
  }
  const run = (bin: string, args: string[]) => {
    const cmd = path.join(BIN, bin);
    return user
      ? execFileSync("setpriv", [`--reuid=${user.uid}`, `--regid=${user.gid}`, "--clear-groups", cmd, ...args], { stdio: "pipe", cwd: dir })
      : execFileSync(cmd, args, { stdio: "pipe", cwd: dir });
  };
  run("initdb", ["-D", path.join(dir, "data"), "-A", "trust", "-U", "hypha", "--no-sync", "-E", "UTF8"]);
  const port = await freePort();
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=50`;
  run("pg_ctl", ["-D", path.join(dir, "data"), "-o", opts, "-l", path.join(dir, "log"), "-w", "-t", "60", "start"]);
  const admin = `postgres://hypha@127.0.0.1:${port}/postgres`;
  let n = 0;
  return {
    async newDatabase() {
      const name = `t${process.pid}_${++n}`;
      const c = new pg.Client({ connectionString: admin });
      await c.connect();
      await c.query(`CREATE DATABASE ${name}`);
      await c.end();
      return `postgres://hypha@127.0.0.1:${port}/${name}`;
    },
    async stop() {
      try {
        run("pg_ctl", ["-D", path.join(dir, "data"), "-m", "immediate", "-w", "stop"]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
