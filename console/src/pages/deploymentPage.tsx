/**
 * One deployment at its own URL (#/d/<id>), live over the API's server-sent events: status,
 * replicas and their nodes, the events timeline, escrow, what was paid and refunded, a job's
 * result, logs of each replica, the audit as checks with a verdict, and scale / delete from the
 * deployer's wallet.
 */
import { useEffect, useState } from "preact/hooks";
import { formatHypha, intentFromWire, WalletError } from "hypha/sdk";
import { deploymentRegistryAbi } from "hypha/abi";
import { api, type ChainInfo } from "../chainInfo";
import { short, statusClass } from "../format";
import { sendFromWallet, type Wallet } from "../wallet";

const DEPLOYMENT_STATUS = ["None", "Requested", "Scheduled", "Running", "Completed", "Terminated", "Failed"];
const REPLICA_STATUS = ["Pending", "Scheduled", "Running", "Completed", "Failed", "Tampered", "Stopped"];

/** One line of the timeline for a chain event. */
function describe(e: any): string {
  const a = e.args ?? {};
  switch (e.eventName) {
    case "IntentSubmitted":
      return `submitted by ${short(a.deployer, 4)}${a.relayer ? ` (relayer ${short(a.relayer, 4)})` : ""}`;
    case "DeploymentStatusChanged":
      return `deployment ${DEPLOYMENT_STATUS[a.from]} → ${DEPLOYMENT_STATUS[a.to]}`;
    case "ReplicaScheduled":
      return `replica ${a.replicaIndex} scheduled on node ${a.nodeId} (attempt ${a.attempt}) at ${formatHypha(a.pricePerSecond)}/s`;
    case "ReplicaStatusChanged":
      return `replica ${a.replicaIndex} on node ${a.nodeId}: ${REPLICA_STATUS[a.from]} → ${REPLICA_STATUS[a.to]}`;
    case "Attested":
      return `node ${a.nodeId} attested replica ${a.replicaIndex}`;
    case "JobFinalized":
      return `job result ${short(a.outputHash)} (${a.agreeing} agreeing)`;
    case "Scaled":
      return `scaled ${a.from} → ${a.to} replicas`;
    case "Terminated":
      return `terminated: ${formatHypha(a.paidToNodes)} paid to nodes, ${formatHypha(a.refunded)} refunded`;
    case "PaymentCredited":
      return `${formatHypha(a.amount)} paid to node ${a.nodeId}`;
    default:
      return e.eventName;
  }
}

/** The deployment resource with the replica list and running count where the page reads them. */
function pageView(d: any): any {
  return { ...d, running: d.replicas.running, replicas: d.replicaSet.map((r: any) => ({ ...r, nodeId: r.nodeId ?? 0 })) };
}

export function DeploymentPage({ id, wallet, info }: { id: `0x${string}`; wallet: Wallet; info?: ChainInfo }) {
  const [detail, setDetail] = useState<any>();
  const [state, setState] = useState<any>();
  const [events, setEvents] = useState<any[]>([]);
  const [name, setName] = useState<string>();
  const [live, setLive] = useState(false);
  const [audit, setAudit] = useState<any>();
  const [logs, setLogs] = useState<{ index: number; text: string }>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState<string>();
  const [scaleTo, setScaleTo] = useState("");
  const [confirmDelete, setConfirmDelete] = useState(false);

  useEffect(() => {
    setEvents([]);
    setAudit(undefined);
    // GET /v1/deployments/ID and the stream's `deployment` events are the one deployment shape
    // (deploymentResource.ts): both read through the same names.
    api.deployment(id).then(
      (d: any) => setDetail(pageView(d)),
      (e) => setError(e.message),
    );
    fetch(`/v1/deployments/${id}/spec`)
      .then((r) => (r.ok ? r.json() : undefined))
      .then((s) => s && setName(s.spec.name));
    const source = new EventSource(api.streamUrl(id));
    source.addEventListener("open", () => setLive(true));
    source.addEventListener("error", () => setLive(false));
    source.addEventListener("deployment", (m) => setState(pageView(JSON.parse((m as MessageEvent).data))));
    // Blocks after `after` were replaced (a reorg): their events are void; the new ones follow.
    source.addEventListener("reorg", (m) => {
      const after = BigInt(JSON.parse((m as MessageEvent).data).after);
      setEvents((list) => list.filter((x) => BigInt(x.blockNumber) <= after));
    });
    source.addEventListener("chain-event", (m) => {
      const e = JSON.parse((m as MessageEvent).data);
      setEvents((list) => (list.some((x) => x.blockNumber === e.blockNumber && x.logIndex === e.logIndex) ? list : [...list, e]));
    });
    return () => source.close();
  }, [id]);

  if (error) return <div class="banner bad">{error}</div>;
  if (!detail) return <p>Loading deployment…</p>;
  const s = state ?? detail;
  const intent = detail.intent;
  const paid = events.filter((e) => e.eventName === "PaymentCredited").reduce((sum, e) => sum + BigInt(e.args.amount), 0n);
  const terminated = events.find((e) => e.eventName === "Terminated");
  const result = events.find((e) => e.eventName === "JobFinalized");
  const isDeployer = wallet.account && wallet.account.toLowerCase() === intent.deployer.toLowerCase();
  const wrongChain = !!(info && wallet.chainId !== info.chainId);
  const ended = ["Terminated"].includes(s.status);

  const act = async (what: string, fn: string, args: unknown[]) => {
    setError(undefined);
    setBusy(what);
    try {
      await sendFromWallet(wallet.provider!, wallet.account!, info!.registry, deploymentRegistryAbi as never, fn, args);
      wallet.refresh();
    } catch (e) {
      setError(e instanceof WalletError && e.rejected ? `${(e as Error).message}: nothing was sent.` : (e as Error).message);
    } finally {
      setBusy(undefined);
      setConfirmDelete(false);
    }
  };

  return (
    <section id="deployment">
      <h1>
        {name ?? short(id)}{" "}
        <span id="status" class={`badge ${statusClass(s.phase)}`} title={`${s.reason}: ${s.message} (on-chain ${s.status})`}>
          {s.phase}
        </span>
        <small class={live ? "ok" : "off"} id="live">
          {live ? "● live" : "○ reconnecting"}
        </small>
      </h1>
      <p class="mono small">{id}</p>
      <dl class="facts">
        <dt>Kind</dt>
        <dd>{intent.kind === 1 ? `job (quorum ${intent.quorum})` : "service"}</dd>
        <dt>Replicas</dt>
        <dd id="replica-count">
          {s.running} running / {s.replicas?.length ?? intent.replicas}
        </dd>
        <dt>Deployer</dt>
        <dd class="mono" title={intent.deployer}>
          {short(intent.deployer, 4)}
        </dd>
        <dt>Budget</dt>
        <dd>{formatHypha(intent.budget)}</dd>
        <dt>Escrow left</dt>
        <dd id="escrow">{formatHypha(s.escrow)}</dd>
        <dt>Paid to nodes</dt>
        <dd id="paid">{formatHypha(terminated ? BigInt(terminated.args.paidToNodes) : paid)}</dd>
        {terminated && (
          <>
            <dt>Refunded</dt>
            <dd id="refund">{formatHypha(terminated.args.refunded)}</dd>
          </>
        )}
        <dt>Price limit</dt>
        <dd>{formatHypha(intent.maxPricePerSecond)} per replica-second</dd>
        <dt>specHash</dt>
        <dd class="mono">{short(intent.specHash)}</dd>
        <dt>Image root</dt>
        <dd class="mono">{short(intent.imageRoot)}</dd>
        {result && (
          <>
            <dt>Job result</dt>
            <dd class="mono" id="result">
              {result.args.outputHash} ({result.args.agreeing} agreeing)
            </dd>
          </>
        )}
      </dl>

      {isDeployer && !ended && (
        <div class="actions" id="manage">
          {intent.kind === 0 && (
            <>
              <input
                id="scale-to"
                type="number"
                min={1}
                placeholder="replicas"
                value={scaleTo}
                onInput={(e) => setScaleTo((e.target as HTMLInputElement).value)}
              />
              <button
                type="button"
                id="scale"
                disabled={!!busy || wrongChain || !/^\d+$/.test(scaleTo)}
                onClick={() => act(`Scaling to ${scaleTo}…`, "scale", [intentFromWire(intent), Number(scaleTo)])}
              >
                Scale
              </button>
            </>
          )}
          {!confirmDelete ? (
            <button type="button" id="delete" class="danger" disabled={!!busy || wrongChain} onClick={() => setConfirmDelete(true)}>
              Delete
            </button>
          ) : (
            <span class="confirm">
              Stop every replica and refund the unspent escrow?
              <button type="button" id="confirm-delete" class="danger" onClick={() => act("Deleting…", "terminate", [intentFromWire(intent)])}>
                Yes, delete
              </button>
              <button type="button" class="secondary" onClick={() => setConfirmDelete(false)}>
                Cancel
              </button>
            </span>
          )}
          {busy && (
            <span class="note" id="busy">
              {busy} (confirm in your wallet)
            </span>
          )}
        </div>
      )}

      <h2>Replicas</h2>
      <div class="scroll">
        <table id="replicas">
          <thead>
            <tr>
              <th>#</th>
              <th>Status</th>
              <th>Node</th>
              <th>Attempt</th>
              <th>Price per second</th>
              <th>Logs</th>
            </tr>
          </thead>
          <tbody>
            {(s.replicas ?? []).map((r: any) => (
              <tr key={r.index}>
                <td>{r.index}</td>
                <td>
                  <span class={`badge ${statusClass(r.status)}`}>{r.status}</span>
                </td>
                <td>{r.nodeId ? <a href="#/nodes">node {r.nodeId}</a> : "—"}</td>
                <td>{r.attempt}</td>
                <td>{r.nodeId ? formatHypha(r.pricePerSecond) : "—"}</td>
                <td>
                  {r.nodeId ? (
                    <button
                      type="button"
                      class="link"
                      onClick={async () => {
                        const res = await fetch(`/v1/deployments/${id}/replicas/${r.index}/logs`);
                        setLogs({ index: r.index, text: res.ok ? await res.text() : `(${(await res.json()).error?.message ?? res.status})` });
                      }}
                    >
                      show
                    </button>
                  ) : (
                    ""
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {logs && (
        <>
          <h3>Logs of replica {logs.index}</h3>
          <pre id="logs">{logs.text || "(empty)"}</pre>
        </>
      )}

      <h2>Audit</h2>
      {!audit ? (
        <button type="button" id="audit" class="secondary" onClick={() => api.audit(id).then(setAudit, (e) => setError(e.message))}>
          Run the audit
        </button>
      ) : (
        <div id="audit-report">
          <p>
            Verdict:{" "}
            <span id="verdict" class={`badge ${statusClass(audit.verdict)}`}>
              {audit.verdict}
            </span>{" "}
            <button type="button" class="link" onClick={() => api.audit(id).then(setAudit)}>
              again
            </button>
          </p>
          <ul class="checks">
            {audit.checks.map((c: any) => (
              <li>
                <span class={`badge ${statusClass(c.status)}`}>{c.status}</span> <b>{c.name}</b> <span class="small">{c.detail}</span>
              </li>
            ))}
          </ul>
        </div>
      )}

      <h2>Events</h2>
      <ol class="timeline" id="events">
        {events.map((e) => (
          <li key={`${e.blockNumber}:${e.logIndex}`}>
            <span class="small">block {e.blockNumber}</span> {describe(e)}
          </li>
        ))}
      </ol>
    </section>
  );
}
