/** The nodes page: every registered node with its capacity, price, stake and endpoint. */
import { useEffect, useState } from "preact/hooks";
import { formatCpu, formatHypha, formatMiB } from "hypha/sdk";
import { api } from "../chainInfo";
import { short } from "../format";

export function NodesPage() {
  const [nodes, setNodes] = useState<any[]>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    api.nodes().then(
      (r) => setNodes(r.nodes),
      (e) => setError(e.message),
    );
  }, []);
  if (error) return <div class="banner bad">{error}</div>;
  if (!nodes) return <p>Loading nodes…</p>;
  return (
    <section>
      <h1>Nodes ({nodes.length})</h1>
      <div class="scroll">
        <table id="nodes">
          <thead>
            <tr>
              <th>Node</th>
              <th>CPU free / total</th>
              <th>Memory free / total</th>
              <th>Replicas</th>
              <th>Price per second</th>
              <th>Stake</th>
              <th>State</th>
              <th>Agent</th>
              <th>Endpoint</th>
            </tr>
          </thead>
          <tbody>
            {nodes.map((n) => (
              <tr key={n.id}>
                <td>#{n.id}</td>
                <td>
                  {formatCpu(n.free.cpuMillis)} / {formatCpu(n.capacity.cpuMillis)}
                </td>
                <td>
                  {formatMiB(n.free.memoryMiB)} / {formatMiB(n.capacity.memoryMiB)}
                </td>
                <td>{n.placed}</td>
                <td>{formatHypha(n.pricePerSecond)}</td>
                <td>{formatHypha(n.stake)}</td>
                <td class={n.state === "Active" && n.liveness.reachable ? "ok" : "bad"}>
                  {n.state}
                  {n.liveness.reachable ? "" : ", agent unreachable"}
                </td>
                <td title={n.agent}>{short(n.agent, 4)}</td>
                <td>{n.endpoint}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
