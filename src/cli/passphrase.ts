/**
 * Asks for a passphrase on the terminal without echoing it. Refuses when there is no terminal, so a
 * script never hangs waiting for input it cannot give.
 */
import { HyphaError } from "../errors";

/**
 * Reads a passphrase from the TTY (twice when `confirm`).
 * @example const pass = await readPassphrase("Passphrase: ")
 */
export async function readPassphrase(prompt: string, confirm = false): Promise<string> {
  if (!process.stdin.isTTY) {
    throw new HyphaError("passphrase: no terminal to ask on; set HYPHA_PASSPHRASE or pass --passphrase-file FILE");
  }
  const first = await askHidden(prompt);
  if (confirm) {
    const second = await askHidden("Repeat passphrase: ");
    if (first !== second) throw new HyphaError("passphrase: the two entries differ");
  }
  if (!first) throw new HyphaError("passphrase: must not be empty");
  return first;
}

function askHidden(prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    process.stderr.write(prompt);
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding("utf8");
    let value = "";
    const onData = (ch: string) => {
      for (const c of ch) {
        if (c === "\r" || c === "\n") {
          done();
          return resolve(value);
        }
        if (c === "\u0003") {
          done();
          return reject(new HyphaError("passphrase: cancelled"));
        }
        if (c === "\u007f" || c === "\b") value = value.slice(0, -1);
        else value += c;
      }
    };
    const done = () => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off("data", onData);
      process.stderr.write("\n");
    };
    stdin.on("data", onData);
  });
}
