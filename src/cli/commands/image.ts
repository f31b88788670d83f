/**
 * `hypha image import|ls|inspect|push`: zero-image management on a local store directory
 * (default .hypha/store, the directory `hypha store serve` and `hypha up` serve).
 */
import type { Command } from "commander";
import type { CliContext } from "../context";
import { emitAs, parseOutputFormat, renderTable, toJson, toYaml } from "../output";

function mib(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)}MiB`;
}

/** The image part, loaded only when an image command runs (keeps `hypha` quick to start). */
function imagePart(): typeof import("../../image") {
  return require("../../image") as typeof import("../../image");
}

/** Registers `hypha image ...`. */
export function registerImage(program: Command, ctx: CliContext): void {
  const image = program.command("image").description("zero-image: content-addressed images with lazily fetched, verified chunks");
  const storeDir = (o: Record<string, string>) => o.storeDir;

  image
    .command("import <path>")
    .description("import a directory, tar, OCI image layout or `docker save` tarball; prints the root")
    .option("--name <name...>", "catalog name(s), e.g. ubuntu-latest")
    .option("--store-dir <dir>", "local store directory", ".hypha/store")
    .option("-o, --output <format>", "table (default), json, yaml or name (image/ROOT)")
    .addHelpText("after", "\nExample:\n  $ hypha image import ./rootfs --name my-app:1.0")
    .action(async (path: string, o: Record<string, string>) => {
      const format = parseOutputFormat(o.output, ["table", "json", "yaml", "name"]);
      const r = await imagePart().imageImport({ storeDir: storeDir(o), path, name: o.name });
      emitAs(
        ctx.out,
        format,
        r,
        () =>
          `${r.root}\nimageRoot ${r.rootHex}\n${r.stats.files} files, ${mib(r.stats.bytes)}, ${r.stats.uniqueChunks} chunks${r.names.length ? `, named ${r.names.join(", ")}` : ""}`,
        () => [`image/${r.root}`],
      );
    });

  image
    .command("ls")
    .description("list the images in the local store")
    .option("--store-dir <dir>", "local store directory", ".hypha/store")
    .option("-o, --output <format>", "table (default), json, yaml or name (image/NAME, or image/ROOT when unnamed)")
    .addHelpText("after", "\nExample:\n  $ hypha image ls")
    .action(async (o: Record<string, string>) => {
      const format = parseOutputFormat(o.output, ["table", "json", "yaml", "name"]);
      const images = await imagePart().imageList({ storeDir: storeDir(o) });
      emitAs(
        ctx.out,
        format,
        images,
        () =>
          images.length
            ? renderTable(images.map((i) => ({ NAMES: i.names.join(",") || "<none>", ROOT: i.root, FILES: i.files, SIZE: mib(i.totalSize), CHUNKS: i.chunks })))
            : "no images",
        () => images.flatMap((i) => (i.names.length ? i.names.map((n) => `image/${n}`) : [`image/${i.root}`])),
      );
    });

  image
    .command("inspect <ref>")
    .description("files, total size, chunks, and chunks shared with other images (ref: name, root CID or 0x root)")
    .option("--store-dir <dir>", "local store directory", ".hypha/store")
    .option("--entries", "include every entry of the manifest")
    .option("-o, --output <format>", "yaml (default) or json", "yaml")
    .addHelpText("after", "\nExample:\n  $ hypha image inspect ubuntu-latest")
    .action(async (ref: string, o: Record<string, string | boolean>) => {
      const r = await imagePart().imageInspect({ storeDir: String(o.storeDir), ref, entries: Boolean(o.entries) });
      ctx.out(parseOutputFormat(String(o.output), ["json", "yaml"]) === "json" ? toJson(r) : toYaml(r));
    });

  image
    .command("push <ref>")
    .description("send an image's manifest and missing chunks to a store (default --store)")
    .option("--to <url>", "store URL (default: the global --store)")
    .option("--name <name>", "catalog name to set there")
    .option("--store-dir <dir>", "local store directory", ".hypha/store")
    .option("-o, --output <format>", "table (default), json, yaml or name (image/ROOT)")
    .addHelpText(
      "after",
      "\nA store that protects its catalog wants its token to set the name: HYPHA_STORE_TOKEN.\n\nExample:\n  $ hypha image push my-app:1.0 --to http://127.0.0.1:7700",
    )
    .action(async (ref: string, o: Record<string, string>) => {
      const format = parseOutputFormat(o.output, ["table", "json", "yaml", "name"]);
      const r = await imagePart().imagePush({ storeDir: storeDir(o), ref, url: o.to ?? ctx.config.storeUrl, name: o.name, token: ctx.env.HYPHA_STORE_TOKEN });
      emitAs(
        ctx.out,
        format,
        r,
        () => `pushed ${r.root}: ${r.pushedChunks} chunks (${r.pushedBytes} bytes) sent, ${r.skippedChunks} already there${r.name ? `; named ${r.name}` : ""}`,
        () => [`image/${r.root}`],
      );
    });
}
