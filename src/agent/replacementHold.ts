/**
 * When a re-placed replica may start here (pure). The lease (lease.ts) fences a node that cannot
 * reach the chain or is frozen; it does not fence one the watcher cannot reach while it still
 * reaches the chain (a partition between the two): the watcher declares the node lost and places
 * the replica again, while the old node keeps renewing its lease from reads of blocks before that
 * placement. Each such read renews the lease for at most `leaseMs` from the moment it began, so
 * `leaseMs` plus the node monitor's check interval after the new placement was first seen here, the
 * old copy is gone: its agent read the new placement and stopped it, or its lease lapsed and its
 * monitor stopped it. A re-placed replica (attempt > 1) therefore waits that long before it starts,
 * unless this node ran it at this attempt already (a fenced run starting again) or at the previous
 * one (then no other node ran it). Every node is assumed
 * to run with the same lease (`hypha up` and a cluster's operators size it from the watcher's
 * node-lost window, see `maxLeaseMs`). Anchor: Kubernetes' StatefulSet at-most-one rule, which
 * waits for the old pod to be known gone before creating its replacement.
 */

/** How long a re-placed replica waits: the lease plus the node monitor's check interval (0: fencing off). */
export function replacementHoldMs(leaseMs: number, monitorIntervalMs = 200): number {
  return leaseMs > 0 ? leaseMs + monitorIntervalMs : 0;
}

/**
 * @example replacementStartAt({ attempt: 2, firstSeenMs: 1000, holdMs: 2700, ranHere: false }) // 3700
 */
export function replacementStartAt(p: { attempt: number; firstSeenMs: number; holdMs: number; ranHere: boolean }): number {
  if (p.attempt <= 1 || p.ranHere || p.holdMs <= 0) return p.firstSeenMs;
  return p.firstSeenMs + p.holdMs;
}
