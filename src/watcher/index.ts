/**
 * The watcher (orchestrator) public surface: runWatcher for `hypha watcher`, and the pure decision
 * functions, which anyone holding the same view (chain state plus the watcher's node probes) can
 * re-run to check a placement. `hypha audit` checks what chain data alone settles: each placement
 * within the intent's price limit and the attempts in order.
 */
export { runWatcher, type WatcherHandle, type WatcherLogger, type WatcherStatus } from "./runWatcher";
export { resolveWatcherConfig, WATCHER_DEFAULTS, type WatcherConfig, type WatcherAddresses } from "./config";
export { placeReplicas, type PlacementNode, type ReplicaRequest, type Placement, type PlacementResult } from "./decide/placeReplicas";
export { reconcile, placementNodes, scheduleKey, reportLostKey, terminateKey, type WatcherAction, type ReconcileInput } from "./decide/reconcile";
export { WatcherError, WatcherConfigError } from "./errors";
