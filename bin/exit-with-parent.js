// Preloaded (`node --require`) into every process `hypha up` starts. They run in their own process
// groups, so a Ctrl-C reaches only `hypha up`, which stops them in order; but if `hypha up` itself
// is killed (SIGKILL, OOM, a closed terminal's session), nothing would stop them. Each child checks
// once a second that `hypha up` (HYPHA_UP_PID) is still its parent, and stops itself (SIGTERM, its
// own graceful shutdown) when it is not.

const parent = Number(process.env.HYPHA_UP_PID);
if (parent > 0 && process.ppid === parent) {
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    process.kill(process.pid, "SIGTERM");
  }, 1000);
  timer.unref();
}
