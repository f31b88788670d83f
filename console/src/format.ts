/** Small display helpers: shortened hex, times, status colours. */
export const short = (hex: string | undefined, n = 6) => (hex && hex.length > 2 * n + 2 ? `${hex.slice(0, n + 2)}…${hex.slice(-n)}` : (hex ?? ""));

export const ago = (unixSeconds: string | number | bigint) => {
  const s = Math.max(0, Math.floor(Date.now() / 1000) - Number(unixSeconds));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
};

export const statusClass = (status: string) =>
  ({
    Running: "ok",
    Completed: "ok",
    Succeeded: "ok",
    PASS: "ok",
    Deleted: "off",
    OutOfBudget: "bad",
    Cancelled: "off",
    Requested: "wait",
    Scheduled: "wait",
    Pending: "wait",
    Terminated: "off",
    Stopped: "off",
    Failed: "bad",
    Tampered: "bad",
    FAIL: "bad",
    SKIP: "off",
  })[status] ?? "off";
