/**
 * The watcher whose cold start `npm run bench:watcher` measures, in its own process (so its RSS is
 * its own): runWatcher with the config in argv[2] (bigints as strings); prints "caughtUp <ms> <cpu ms>"
 * once ingest reached the head (wall ms since runWatcher was called, and this process's CPU time,
 * user + system, over the same span), then "status <json>" on SIGUSR2. The catch-up is seen in the
 * watcher's own "ingest caught up" log line, so measuring it costs the watcher nothing (polling
 * status() every few ms did: it counts every replica, and took ~40% of the catch-up's CPU).
 * argv[3], when given, is another checkout's runWatcher module (the baseline of an A/B run).
 */
const { runWatcher } = require(process.argv[3] ?? "../../src/watcher/runWatcher") as typeof import("../../src/watcher/runWatcher");

const raw = JSON.parse(process.argv[2]!);
raw.addresses.startBlock = BigInt(raw.addresses.startBlock ?? 0);
const started = Date.now();
const cpuAtStart = process.cpuUsage();
const quiet = {
  debug() {},
  info(_o: object, m?: string) {
    if (m !== "ingest caught up") return;
    const cpu = process.cpuUsage(cpuAtStart);
    process.stdout.write(`caughtUp ${Date.now() - started} ${Math.round((cpu.user + cpu.system) / 1000)}\n`);
  },
  warn() {},
  error(o: object, m?: string) {
    process.stderr.write(`${m} ${JSON.stringify(o)}\n`);
  },
};
runWatcher(raw, quiet).then(
  (w) => {
    process.on("SIGUSR2", () => {
      global.gc?.();
      process.stdout.write(`status ${JSON.stringify({ ...w.status(), memory: process.memoryUsage() })}\n`);
    });
    process.on("SIGTERM", () => void w.close().then(() => process.exit(0)));
  },
  (err) => {
    process.stderr.write(`watcher failed: ${err?.stack ?? err}\n`);
    process.exit(1);
  },
);
