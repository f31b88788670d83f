/**
 * The deployments list: newest first, a page at a time (offset/limit, so past 1,000 too), names
 * from each spec's metadata.name, filters by phase (on the server, across every page), by name or id
 * (within the page shown), and "mine only".
 */
import { useEffect, useState } from "preact/hooks";
import { formatHypha } from "hypha/sdk";
import { api } from "../chainInfo";
import { short, statusClass } from "../format";
import type { Wallet } from "../wallet";

const PAGE = 25;
const names = new Map<string, string>(); // deployment id -> metadata.name

export function DeploymentsPage({ wallet }: { wallet: Wallet }) {
  const [offset, setOffset] = useState(0);
  const [mine, setMine] = useState(false);
  const [status, setStatus] = useState("");
  const [text, setText] = useState("");
  const [data, setData] = useState<{ total: number; deployments: any[] }>();
  const [error, setError] = useState<string>();
  const [, setNamesSeen] = useState(0);

  useEffect(() => {
    let live = true;
    const load = () =>
      api.deployments({ limit: PAGE, offset, phase: status || undefined, deployer: mine && wallet.account ? wallet.account : undefined }).then(
        (d) => {
          if (!live) return;
          setData(d);
          setError(undefined);
          for (const row of d.deployments)
            if (!names.has(row.id))
              fetch(`/v1/deployments/${row.id}/spec`)
                .then((r) => (r.ok ? r.json() : undefined))
                .then((s) => {
                  if (s && live) {
                    names.set(row.id, s.spec.name);
                    setNamesSeen((n) => n + 1);
                  }
                });
        },
        (e) => live && setError(e.message),
      );
    load();
    const timer = setInterval(load, 5000);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [offset, mine, status, wallet.account]);

  const rows = (data?.deployments ?? []).filter((d) => !text || d.id.includes(text.toLowerCase()) || (names.get(d.id) ?? "").includes(text));
  return (
    <section>
      <h1>Deployments {data && <small>({data.total})</small>}</h1>
      <div class="filters">
        <input placeholder="Filter by name or id" value={text} onInput={(e) => setText((e.target as HTMLInputElement).value)} />
        <select
          value={status}
          onChange={(e) => {
            setStatus((e.target as HTMLSelectElement).value);
            setOffset(0);
          }}
          aria-label="status"
        >
          <option value="">any status</option>
          {["Requested", "Scheduled", "Running", "Succeeded", "Failed", "Deleted", "OutOfBudget", "Cancelled"].map((s) => (
            <option value={s}>{s}</option>
          ))}
        </select>
        <label>
          <input
            type="checkbox"
            checked={mine}
            disabled={!wallet.account}
            onChange={(e) => {
              setMine((e.target as HTMLInputElement).checked);
              setOffset(0);
            }}
          />{" "}
          mine only
        </label>
        <a class="button" href="#/deploy">
          New deployment
        </a>
      </div>
      {error && <div class="banner bad">{error}</div>}
      {!data ? (
        <p>Loading…</p>
      ) : rows.length === 0 ? (
        <p>
          No deployments here yet. <a href="#/deploy">Deploy one</a>.
        </p>
      ) : (
        <div class="scroll">
          <table id="deployments">
            <thead>
              <tr>
                <th>Name</th>
                <th>Status</th>
                <th>Kind</th>
                <th>Replicas running</th>
                <th>Escrow</th>
                <th>Deployer</th>
                <th>Id</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((d) => (
                <tr key={d.id}>
                  <td>
                    <a href={`#/d/${d.id}`}>{d.name ?? names.get(d.id) ?? short(d.id)}</a>
                  </td>
                  <td>
                    <span class={`badge ${statusClass(d.phase)}`} title={`${d.reason}: ${d.message}`}>
                      {d.phase}
                    </span>
                  </td>
                  <td>{d.kind}</td>
                  <td>
                    {d.replicas.running} / {d.replicas.desired}
                  </td>
                  <td>{formatHypha(d.escrow)}</td>
                  <td title={d.deployer}>{short(d.deployer, 4)}</td>
                  <td class="mono">{short(d.id)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {data && data.total > PAGE && (
        <div class="pager">
          <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
            Newer
          </button>
          <span>
            {offset + 1}–{Math.min(offset + PAGE, data.total)} of {data.total}
          </span>
          <button type="button" disabled={offset + PAGE >= data.total} onClick={() => setOffset(offset + PAGE)}>
            Older
          </button>
        </div>
      )}
    </section>
  );
}
