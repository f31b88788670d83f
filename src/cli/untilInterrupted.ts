/**
 * Runs a CLI loop that ends on Ctrl-C: `stopped()` turns true on SIGINT or SIGTERM, and the signal
 * handlers are removed when the loop returns (`get -w`, `logs -f`).
 */

/**
 * @example await untilInterrupted(async (stopped) => { while (!stopped()) await pollOnce(); })
 */
export async function untilInterrupted<T>(loop: (stopped: () => boolean) => Promise<T>): Promise<T> {
  let stop = false;
  const onSignal = () => {
    stop = true;
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    return await loop(() => stop);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}
