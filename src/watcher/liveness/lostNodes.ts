/**
 * The liveness verdict (pure): a node is lost when it has not answered a health probe for longer
 * than `lostAfterMs`. A node never probed yet counts from when the watcher first saw it, so a
 * restart does not declare every node lost at once.
 */

/**
 * Node ids whose last good answer is older than `lostAfterMs` at `now`. lostAfterMs 0 = liveness off.
 * @example lostNodeIds(new Map([[1, 0], [2, 9000]]), 10_000, 5000) // Set { 1 }
 */
export function lostNodeIds(lastSeenMs: ReadonlyMap<number, number>, now: number, lostAfterMs: number): Set<number> {
  const lost = new Set<number>();
  if (lostAfterMs <= 0) return lost;
  for (const [nodeId, seen] of lastSeenMs) if (now - seen > lostAfterMs) lost.add(nodeId);
  return lost;
}
