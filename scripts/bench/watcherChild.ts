/**
 * The watcher whose cold start `npm run bench:watcher` measures, in its own process (so its RSS is
 * its own): runWatcher with the config in argv[2] (bigints as strings); prints "caughtUp <ms> <cpu ms>"
 * once ingest reached the head (wall ms since runWatcher was called, and this process's CPU time,
 * user + system, over the same span), then "status <json>" on SIGUSR2.
 */
import { runWatcher } from "../../src/watcher/runWatcher";

const raw = JSON.parse(process.argv[2]!);
raw.addresses.startBlock = BigInt(raw.addresses.startBlock ?? 0);
const quiet = {
  debug() {},
  info() {},
  warn() {},
  error(o: object, m?: string) {
    process.stderr.write(`${m} ${JSON.stringify(o)}\n`);
  },
};
const started = Date.now();
const cpuAtStart = process.cpuUsage();
runWatcher(raw, quiet).then(
  (w) => {
    const poll = setInterval(() => {
      if (!w.status().caughtUp) return;
      clearInterval(poll);
      const cpu = process.cpuUsage(cpuAtStart);
      process.stdout.write(`caughtUp ${Date.now() - started} ${Math.round((cpu.user + cpu.system) / 1000)}\n`);
    }, 5);
    process.on("SIGUSR2", () => {
      global.gc?.();
      process.stdout.write(`status ${JSON.stringify(w.status())}\n`);
    });
    process.on("SIGTERM", () => void w.close().then(() => process.exit(0)));
  },
  (err) => {
    process.stderr.write(`watcher failed: ${err?.stack ?? err}\n`);
    process.exit(1);
  },
);
