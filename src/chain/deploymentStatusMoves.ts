/**
 * A deployment's status moves, read from its events. The contract tells each move with one event:
 * IntentSubmitted (None -> Requested), DeploymentStatusChanged (every other move, with its `from`),
 * JobFinalized (-> Completed) and Terminated (-> Terminated); the last two carry no `from`, which is
 * the status the deployment was in before them. Pure: the audit, the outcome and the CLI's progress
 * read the moves through here.
 */
import { deploymentStatusNumber } from "./lifecycle";

const COMPLETED = deploymentStatusNumber("Completed");
const TERMINATED = deploymentStatusNumber("Terminated");
const REQUESTED = deploymentStatusNumber("Requested");

/** One status move and the position of the event that told it in the list given. */
export interface DeploymentStatusMove {
  from: number;
  to: number;
  index: number;
}

/**
 * The status moves the events tell, in order. `initial` is the status before the first event
 * (Requested: a deployment with events was submitted; a cancelled one's DeploymentStatusChanged
 * names its own `from`).
 * @example deploymentStatusMoves([dsc(1, 2), jobFinalized, terminated]) // [{from: 1, to: 2, index: 0}, {from: 2, to: 4, index: 1}, {from: 4, to: 5, index: 2}]
 */
export function deploymentStatusMoves(events: readonly { eventName: string; args: Record<string, unknown> }[], initial = REQUESTED): DeploymentStatusMove[] {
  const moves: DeploymentStatusMove[] = [];
  let status = initial;
  events.forEach((e, index) => {
    let from = status;
    let to: number;
    if (e.eventName === "DeploymentStatusChanged") {
      from = Number(e.args.from);
      to = Number(e.args.to);
    } else if (e.eventName === "JobFinalized") to = COMPLETED;
    else if (e.eventName === "Terminated") to = TERMINATED;
    else return;
    moves.push({ from, to, index });
    status = to;
  });
  return moves;
}
