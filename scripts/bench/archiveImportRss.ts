/**
 * Child process of bench:image: imports one archive and prints its peak RSS (MiB) and seconds as
 * JSON, so the figure is this import's alone. Usage: tsx archiveImportRss.ts FILE SPOOL_ABOVE_BYTES
 */
import { importImage } from "../../src/image";

const [file, spoolAbove] = process.argv.slice(2);
const t = performance.now();
importImage(file, null, { spoolAboveBytes: Number(spoolAbove) })
  .then((r) => {
    const seconds = (performance.now() - t) / 1000;
    console.log(JSON.stringify({ peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024), seconds, root: r.root.toString() }));
  })
  .catch((err) => {
    console.error(err);
    process.exit(1);
  });
