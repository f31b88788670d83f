/**
 * GET /docs: the OpenAPI document rendered as one self-contained HTML page (no scripts, no
 * assets from elsewhere): each operation with its parameters, request schema and responses.
 */

const esc = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

/** A schema as a short outline: one line per property, with its type and description. */
function outline(schema: any, depth = 0): string {
  if (!schema || depth > 4) return "";
  const pad = "  ".repeat(depth);
  if (schema.anyOf) return schema.anyOf.map((s: any) => outline(s, depth)).join(`${pad}or\n`);
  if (schema.type === "object" && schema.properties) {
    const req = new Set<string>(schema.required ?? []);
    return Object.entries<any>(schema.properties)
      .map(([name, p]) => {
        const type =
          p.type ??
          (p.anyOf
            ? p.anyOf.map((a: any) => (a.const !== undefined ? JSON.stringify(a.const) : (a.type ?? "?"))).join(" | ")
            : p.const !== undefined
              ? JSON.stringify(p.const)
              : p.enum
                ? p.enum.join(" | ")
                : "any");
        const line = `${pad}${name}${req.has(name) ? "" : "?"}: ${type === "array" ? `${p.items?.type ?? "any"}[]` : type}${p.description ? `  — ${p.description}` : ""}\n`;
        const inner =
          p.type === "object"
            ? outline(p, depth + 1)
            : p.type === "array" && p.items?.type === "object"
              ? outline(p.items, depth + 1)
              : p.anyOf?.find((a: any) => a.type === "object")
                ? outline(
                    p.anyOf.find((a: any) => a.type === "object"),
                    depth + 1,
                  )
                : "";
        return line + inner;
      })
      .join("");
  }
  return `${pad}${schema.type ?? "any"}${schema.description ? `  — ${schema.description}` : ""}\n`;
}

/**
 * @example res.type("html").send(renderDocsPage(openApiDocument(addresses)))
 */
export function renderDocsPage(doc: any): string {
  const ops: string[] = [];
  for (const [path, methods] of Object.entries<any>(doc.paths)) {
    for (const [method, op] of Object.entries<any>(methods)) {
      const params = (op.parameters ?? [])
        .map(
          (p: any) =>
            `<li><code>${esc(p.name)}</code> (${esc(p.in)}${p.required ? ", required" : ""}) ${esc(p.description ?? "")} <code>${esc(JSON.stringify(p.schema))}</code></li>`,
        )
        .join("");
      const body = op.requestBody?.content?.["application/json"]?.schema;
      const responses = Object.entries<any>(op.responses)
        .map(([code, r]) => {
          const schema = r.content?.["application/json"]?.schema;
          return `<li><b>${esc(code)}</b> ${esc(r.description)}${schema && !schema.$ref ? `<details><summary>schema</summary><pre>${esc(outline(schema))}</pre></details>` : ""}</li>`;
        })
        .join("");
      ops.push(
        `<section id="${esc(op.operationId)}"><h2><span class="m ${esc(method)}">${esc(method.toUpperCase())}</span> <code>${esc(path)}</code></h2><p>${esc(op.summary ?? "")}</p>${params ? `<h3>Parameters</h3><ul>${params}</ul>` : ""}${body ? `<h3>Request body</h3><pre>${esc(outline(body))}</pre>` : ""}<h3>Responses</h3><ul>${responses}</ul></section>`,
      );
    }
  }
  const toc = Object.entries<any>(doc.paths)
    .flatMap(([path, methods]) =>
      Object.entries<any>(methods).map(([m, op]) => `<li><a href="#${esc(op.operationId)}">${esc(m.toUpperCase())} ${esc(path)}</a></li>`),
    )
    .join("");
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${esc(doc.info.title)} reference</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:0 auto;padding:1rem;color:#1d1d1f}pre{background:#f4f4f6;padding:.6rem;overflow-x:auto;font-size:13px}code{font-family:ui-monospace,monospace}section{border-top:1px solid #ddd;margin-top:1.2rem}.m{display:inline-block;min-width:3.5rem;padding:0 .4rem;border-radius:4px;color:#fff;font-size:.8em;text-align:center}.get{background:#0b6bcb}.post{background:#177245}h2{font-size:1.1rem}h3{font-size:.95rem;margin-bottom:.2rem}</style></head>
<body><h1>${esc(doc.info.title)} <small>v${esc(doc.info.version)}</small></h1><p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI ${esc(doc.openapi)}).</p>
${String(doc.info.description)
  .split("\n\n")
  .map((p) => `<p>${esc(p)}</p>`)
  .join("")}
<h3>EIP-712 (x-hypha-eip712)</h3><pre>${esc(JSON.stringify(doc["x-hypha-eip712"], null, 2))}</pre>
<h3>Operations</h3><ul>${toc}</ul>${ops.join("")}</body></html>`;
}
