/**
 * The watcher's leader lease in PostgreSQL, as SQL and timing: one row per lease name with its
 * holder, the holder's session (pid and start, to see at once when it is gone) and an expiry set
 * by the server's clock. Chainlink's node elects its active instance with such a lease lock. The
 * statements are used by PostgresKv, which holds the connection they run on.
 */

/** Created when missing, beside the key-value table. */
export const LEASE_TABLE_SQL = `CREATE TABLE IF NOT EXISTS hypha_lease (
  name text PRIMARY KEY,
  holder text NOT NULL,
  backend_pid integer NOT NULL,
  backend_start timestamptz,
  expires_at timestamptz NOT NULL
)`;

/**
 * Take the lease ($1 name, $2 holder, $3 lease ms) when it is free, expired, already ours, or its
 * holder's session no longer exists (its process died and the server closed the session). One row
 * back means taken. backend_start is NULL where pg_stat_activity hides it from this role; then the
 * pid alone identifies the session.
 */
export const TAKE_SQL = `INSERT INTO hypha_lease AS l (name, holder, backend_pid, backend_start, expires_at)
SELECT $1, $2, pg_backend_pid(), a.backend_start, clock_timestamp() + $3 * interval '1 millisecond'
  FROM pg_stat_activity a WHERE a.pid = pg_backend_pid()
ON CONFLICT (name) DO UPDATE
  SET holder = EXCLUDED.holder, backend_pid = EXCLUDED.backend_pid, backend_start = EXCLUDED.backend_start, expires_at = EXCLUDED.expires_at
  WHERE l.holder = EXCLUDED.holder
     OR l.expires_at < clock_timestamp()
     OR NOT EXISTS (SELECT 1 FROM pg_stat_activity s
                     WHERE s.pid = l.backend_pid AND (l.backend_start IS NULL OR s.backend_start IS NULL OR s.backend_start = l.backend_start))
RETURNING l.holder`;

/** Extend our unexpired lease ($1 name, $2 holder, $3 lease ms); no row back means it is lost. */
export const RENEW_SQL = `UPDATE hypha_lease SET expires_at = clock_timestamp() + $3 * interval '1 millisecond'
WHERE name = $1 AND holder = $2 AND expires_at > clock_timestamp()
RETURNING 1`;

/** Inside a write's transaction: our lease is unexpired; the share lock holds off a take-over until the write ends. */
export const VALID_SQL = `SELECT 1 FROM hypha_lease WHERE name = $1 AND holder = $2 AND expires_at > clock_timestamp() FOR SHARE`;

/** Lease length and renewal period: renewed every third of the lease, so two renewals may fail before it lapses. */
export function leaseTiming(leaseMs = 5000): { leaseMs: number; renewEveryMs: number } {
  if (!Number.isInteger(leaseMs) || leaseMs < 300) throw new RangeError(`leaseMs: must be an integer of at least 300 ms, got ${leaseMs}`);
  return { leaseMs, renewEveryMs: Math.floor(leaseMs / 3) };
}
