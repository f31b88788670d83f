/**
 * Runs the watcher in a child process for crash tests: config comes as JSON in argv[2] (bigints as
 * strings), "ready" is printed when runWatcher has resolved. The parent kills it with SIGKILL.
 */
import { runWatcher } from "../../../src/watcher/runWatcher";

const raw = JSON.parse(process.argv[2]!);
raw.addresses.startBlock = BigInt(raw.addresses.startBlock ?? 0);
const quiet = {
  debug() {},
  info(o: object, m?: string) {
    if (m?.startsWith("outbox resumed")) process.stdout.write(`resumed ${JSON.stringify(o)}\n`);
    if (m?.includes("standing by")) process.stdout.write("standby\n");
  },
  warn() {},
  error(o: object, m?: string) {
    process.stderr.write(`${m} ${JSON.stringify(o)}\n`);
  },
};
runWatcher(raw, quiet).then(
  (w) => {
    process.stdout.write("ready\n");
    setInterval(() => process.stdout.write(`status ${JSON.stringify(w.status())}\n`), 25); // often: the test kills mid-send
    // As `hypha watcher` does: a watcher that lost its lease stopped by itself; exit 1.
    void w.stopped.then((reason) => {
      if (reason) process.stderr.write(`${reason}\n`);
      process.exit(reason ? 1 : 0);
    });
  },
  (err) => {
    process.stderr.write(`watcher failed: ${err?.stack ?? err}\n`);
    process.exit(1);
  },
);
