/**
 * Serves the web console's build (dist/console, made by `npm run build:console`) at /. Without a
 * build (a clone where nobody built it), / keeps the small built-in dashboard and says how to
 * build the console.
 */
import fs from "node:fs";
import path from "node:path";
import express, { type Express } from "express";

/** Where `npm run build:console` writes the console. */
export const CONSOLE_DIR = path.resolve(__dirname, "..", "..", "dist", "console");

/**
 * Mounts the console (or the fallback page) at /.
 * @example mountConsole(app, DASHBOARD_HTML)
 */
export function mountConsole(app: Express, fallbackHtml: string, dir = CONSOLE_DIR): void {
  const index = path.join(dir, "index.html");
  app.get("/", (_req, res) => {
    if (fs.existsSync(index)) return res.sendFile(index, { headers: { "cache-control": "no-cache" } });
    res
      .type("text/html")
      .send(fallbackHtml.replace("<h1>Hypha</h1>", "<h1>Hypha</h1><p>(the web console is not built: run <code>npm run build:console</code>)</p>"));
  });
  app.get("/dashboard", (_req, res) => {
    res.type("text/html").send(fallbackHtml);
  });
  // Hashed file names: cache them for good.
  app.use("/assets", express.static(path.join(dir, "assets"), { immutable: true, maxAge: "365d" }));
}
