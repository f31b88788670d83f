/**
 * The dashboard: one static page that reads the API's own JSON endpoints (nodes, deployments, a
 * deployment's replicas and its audit) and refreshes every few seconds. No assets, no build.
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Hypha</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }
  h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin-top: 1.6em; }
  table { border-collapse: collapse; } td, th { padding: .25em .8em; border-bottom: 1px solid #ddd; text-align: left; }
  code, .id { font-family: ui-monospace, monospace; font-size: 12px; }
  .PASS, .Running, .Completed, .Succeeded { color: #176b2c; } .FAIL, .Failed, .Tampered, .OutOfBudget { color: #b00020; }
  a { cursor: pointer; color: #0b57d0; } #detail { white-space: pre-wrap; font-family: ui-monospace, monospace; font-size: 12px; }
</style>
</head>
<body>
<h1>Hypha</h1>
<div id="health"></div>
<h2>Nodes</h2>
<table id="nodes"><tr><th>id</th><th>agent</th><th>free CPU</th><th>free memory</th><th>placed</th><th>stake</th><th>state</th><th>endpoint</th></tr></table>
<h2>Deployments</h2>
<table id="deployments"><tr><th>name</th><th>id</th><th>kind</th><th>status</th><th>running</th><th>deployer</th><th></th></tr></table>
<h2 id="detail-title"></h2>
<div id="detail"></div>
<script>
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
const get = async (p) => { const r = await fetch(p); const j = await r.json(); if (!r.ok) throw new Error(j.error ? j.error.message : r.status); return j; };
function rows(table, list, cells) {
  const t = document.getElementById(table);
  while (t.rows.length > 1) t.deleteRow(1);
  for (const item of list) t.insertRow().innerHTML = cells(item).map((c) => "<td>" + c + "</td>").join("");
}
async function show(id, what) {
  document.getElementById("detail-title").textContent = (what === "audit" ? "Audit of " : "Deployment ") + id;
  try {
    const j = await get("/v1/deployments/" + id + (what === "audit" ? "/audit" : ""));
    document.getElementById("detail").innerHTML = what === "audit"
      ? '<b class="' + j.verdict + '">' + j.verdict + "</b>\\n" + j.checks.map((c) => esc(c.status.padEnd(5)) + " " + esc(c.name) + ": " + esc(c.detail)).join("\\n")
      : esc(JSON.stringify(j, null, 2));
  } catch (e) { document.getElementById("detail").textContent = String(e); }
}
async function refresh() {
  try {
    const h = await get("/healthz");
    document.getElementById("health").innerHTML = "chain " + h.chainId + ", block " + h.block + ", DeploymentRegistry <code>" + h.contracts.deploymentRegistry + "</code>";
    const n = await get("/v1/nodes");
    rows("nodes", n.nodes, (x) => [x.id, '<span class="id">' + x.agent + "</span>", x.free.cpuMillis + " / " + x.capacity.cpuMillis + "m", x.free.memoryMiB + " / " + x.capacity.memoryMiB + " MiB", x.placed, x.stake, esc(x.state + (x.liveness.reachable ? "" : ", agent unreachable")), esc(x.endpoint)]);
    const d = await get("/v1/deployments?limit=50");
    rows("deployments", d.deployments, (x) => [esc(x.name || "-"), '<a class="id" onclick="show(\\'' + x.id + '\\')">' + x.id.slice(0, 18) + "…</a>", x.kind, '<span class="' + x.phase + '" title="' + esc(x.reason + ": " + x.message) + '">' + x.phase + "</span>", x.replicas.running + " / " + x.replicas.desired, '<span class="id">' + x.deployer + "</span>", '<a onclick="show(\\'' + x.id + "', 'audit')\\">audit</a>"]);
  } catch (e) { document.getElementById("health").textContent = "API error: " + e; }
}
refresh(); setInterval(refresh, 3000);
</script>
</body>
</html>
`;
