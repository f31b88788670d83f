/**
 * The web console in a real browser (headless Chromium from @sparticuz/chromium, driven by
 * puppeteer-core) against the whole local system (`hypha up`: hardhat node, store, agents,
 * watcher, and the API serving the console). The page gets a test EIP-1193 wallet backed by a
 * dev key that answers as MetaMask would (eth_requestAccounts, eth_chainId, eth_signTypedData_v4
 * with a chain check, eth_sendTransaction, wallet_switchEthereumChain; the rest goes to the
 * chain's JSON-RPC): that wallet is the one mocked part, because no extension can run headless.
 * A person's path: connect on a wrong chain (refused with a clear message), switch, load the
 * seed's Deployment, review, reject the signature (nothing submitted), sign (intent + permit,
 * no approve), watch it reach Running over the push channel, audit PASS, scale, delete and see
 * the refund; nodes and list pages (the phase filter); the seed's Job deployed the same way, its
 * result shown once the quorum agreed and checked against an independently computed outputHash;
 * no console errors; screenshots at desktop and phone widths.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import chromium from "@sparticuz/chromium";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { createWalletClient, http, type Hex } from "viem";
import { hardhat } from "viem/chains";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { devAccount } from "../../src/chain/devAccounts";
import { computeSpecHash, parseManifests } from "../../src/spec";
import { projectDir, startLocalSystem, type LocalSystem } from "../helpers/localSystem";

const ACCOUNT = devAccount(17); // a funded deployer with no deposit and no allowance
const ARTIFACTS = path.join(projectDir, "test-artifacts", "console");
const SEED = fs.readFileSync(path.join(projectDir, "examples", "deployment.yaml"), "utf8");

let sys: LocalSystem;
let browser: Browser;
let page: Page;
const consoleErrors: string[] = [];
const requests: string[] = [];
const wallet = { chainId: 1, rejectSignatures: false, authorized: false, calls: [] as string[] };

/** The test wallet's answers (node side of window.ethereum). */
async function walletRequest(method: string, params: any[]): Promise<{ result?: unknown; error?: { code: number; message: string } }> {
  wallet.calls.push(method);
  const client = createWalletClient({ account: ACCOUNT, chain: { ...hardhat, id: 31337 }, transport: http(sys.state.rpcUrl) });
  switch (method) {
    case "eth_requestAccounts":
      wallet.authorized = true;
      return { result: [ACCOUNT.address] };
    case "eth_accounts": // as MetaMask: no accounts for a site the person has not connected yet
      return { result: wallet.authorized ? [ACCOUNT.address] : [] };
    case "eth_chainId":
      return { result: `0x${wallet.chainId.toString(16)}` };
    case "wallet_switchEthereumChain":
      wallet.chainId = Number(params[0].chainId);
      return { result: null };
    case "eth_signTypedData_v4": {
      if (wallet.rejectSignatures) return { error: { code: 4001, message: "User rejected the request." } };
      if (String(params[0]).toLowerCase() !== ACCOUNT.address.toLowerCase()) return { error: { code: 4100, message: "unknown account" } };
      const td = JSON.parse(params[1]);
      if (td.domain.chainId !== undefined && Number(td.domain.chainId) !== wallet.chainId)
        return { error: { code: -32603, message: `chainId ${td.domain.chainId} is not the active chain ${wallet.chainId}` } };
      const { EIP712Domain: _d, ...types } = td.types;
      return { result: await ACCOUNT.signTypedData({ domain: td.domain, types, primaryType: td.primaryType, message: td.message }) };
    }
    case "eth_sendTransaction": {
      const tx = params[0];
      const hash = await client.sendTransaction({ account: ACCOUNT, to: tx.to, data: tx.data, value: tx.value ? BigInt(tx.value) : undefined });
      return { result: hash };
    }
    default: {
      const res = await fetch(sys.state.rpcUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
      });
      const body = (await res.json()) as { result?: unknown; error?: { code: number; message: string } };
      return body.error ? { error: body.error } : { result: body.result };
    }
  }
}

const text = (sel: string) => page.$eval(sel, (e) => (e as HTMLElement).innerText);
const waitText = (sel: string, re: RegExp, timeout = 60_000) =>
  page.waitForFunction(
    (s: string, src: string) => {
      const e = document.querySelector(s) as HTMLElement | null;
      return !!e && new RegExp(src).test(e.innerText);
    },
    { timeout, polling: 100 },
    sel,
    re.source,
  );
const shot = async (name: string) => {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
};

beforeAll(async () => {
  sys = await startLocalSystem({ extraArgs: ["--restart-backoff-ms", "1000"] });
  browser = await puppeteer.launch({
    executablePath: await chromium.executablePath(),
    args: [...chromium.args, "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    headless: true,
  });
  page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  page.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));
  page.on("pageerror", (e) => consoleErrors.push(String(e)));
  page.on("request", (r) => requests.push(`${r.method()} ${new URL(r.url()).pathname}`));
  await page.exposeFunction("__hyphaTestWallet", walletRequest);
  await page.evaluateOnNewDocument(() => {
    const listeners: Record<string, Array<(...a: unknown[]) => void>> = {};
    (window as any).ethereum = {
      async request({ method, params }: { method: string; params?: unknown[] }) {
        const r = await (window as any).__hyphaTestWallet(method, params ?? []);
        if (r.error) throw Object.assign(new Error(r.error.message), { code: r.error.code });
        return r.result;
      },
      on: (ev: string, fn: (...a: unknown[]) => void) => (listeners[ev] ??= []).push(fn),
      removeListener: (ev: string, fn: (...a: unknown[]) => void) => (listeners[ev] = (listeners[ev] ?? []).filter((f) => f !== fn)),
    };
  });
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await sys?.stop();
}, 60_000);

describe("web console in Chromium", () => {
  it("deploys from the wallet, follows it live, audits, scales and deletes it", async () => {
    await page.goto(`${sys.state.apiUrl}/#/deploy`, { waitUntil: "networkidle0" });

    // A wrong chain is refused with a clear message, and nothing can be reviewed or signed.
    await page.click("#connect");
    await waitText("#wrong-chain", /wallet is on chain 1; this Hypha runs on chain 31337/);
    expect(await page.$eval("#review-button", (b) => (b as HTMLButtonElement).disabled)).toBe(true);
    await page.click("#wrong-chain button");
    await page.waitForFunction(() => !document.querySelector("#wrong-chain"), { timeout: 10_000 });
    await waitText("#balance", /^1,?000,?000 HYPHA$/);
    expect(await text("#account")).toMatch(new RegExp(ACCOUNT.address.slice(0, 6)));

    // The seed's Deployment (the default template), reviewed: everything that will be signed.
    expect(await page.$eval("#manifest", (t) => (t as HTMLTextAreaElement).value)).toBe(SEED);
    await page.click("#review-button");
    await page.waitForSelector("#review");
    const field = (k: string) => page.$eval(`dd[data-field="${k}"]`, (e) => (e as HTMLElement).innerText);
    expect(await field("Name")).toBe("deterministic-app");
    expect(await field("Replicas")).toBe("3");
    expect(await field("specHash")).toBe(computeSpecHash(parseManifests(SEED)[0].spec));
    expect(await field("Budget (escrowed)")).toBe("10 HYPHA");
    expect(await field("Estimated cost at most")).toBe("10.8 HYPHA per hour");
    expect(await field("Token allowance")).toMatch(/ERC-2612 permit/);
    expect(await text("#review")).toMatch(/checked in this browser with the Hypha SDK/);
    await shot("review-desktop");

    // A rejected signature leaves nothing submitted.
    wallet.rejectSignatures = true;
    await page.click("#sign");
    await waitText("#deploy-error", /rejected in the wallet\. Nothing was submitted\./);
    expect(requests.filter((r) => r === "POST /v1/intents")).toEqual([]);
    const mine = await (await fetch(`${sys.state.apiUrl}/v1/deployments?deployer=${ACCOUNT.address}`)).json();
    expect(mine.total).toBe(0);

    // Signed (intent, then the permit instead of an approve) and relayed.
    wallet.rejectSignatures = false;
    wallet.calls.length = 0;
    await page.click("#sign");
    await page.waitForFunction(() => location.hash.startsWith("#/d/0x"), { timeout: 30_000 });
    expect(wallet.calls.filter((m) => m === "eth_signTypedData_v4")).toHaveLength(2);
    expect(wallet.calls).not.toContain("eth_sendTransaction");
    const id = (await page.evaluate(() => location.hash.slice(4))) as Hex;

    // Running arrives through the push channel (one read of the deployment, then only the stream).
    await waitText("#status", /^Running$/, 90_000);
    expect(await text("#live")).toMatch(/live/);
    expect(requests.filter((r) => r === `GET /v1/deployments/${id}`)).toHaveLength(1);
    expect(requests).toContain(`GET /v1/deployments/${id}/stream`);
    expect(await text("h1")).toMatch(/deterministic-app/);
    await waitText("#replica-count", /^3 running/);
    expect(await text("#events")).toMatch(/replica 0 scheduled on node \d/);
    await shot("deployment-desktop");

    // The audit, as checks with a verdict.
    await page.click("#audit");
    await waitText("#verdict", /^PASS$/, 30_000);
    expect(await page.$$eval("#audit-report .checks li", (l) => l.length)).toBeGreaterThan(3);

    // Scale from the wallet.
    await page.type("#scale-to", "2");
    await page.click("#scale");
    await waitText("#events", /scaled 3 → 2 replicas/, 30_000);
    expect(wallet.calls).toContain("eth_sendTransaction");

    // Phone width (a reload in Chromium: the wallet reconnects without a prompt): the page fits.
    await page.setViewport({ width: 390, height: 844, isMobile: true, hasTouch: true });
    await waitText("#status", /^Running$/);
    await page.waitForSelector("#delete");
    await page.waitForSelector("#balance");
    await shot("deployment-phone");
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await page.setViewport({ width: 1280, height: 900 });
    await page.waitForSelector("#delete");

    // Delete, and see the refund.
    await page.click("#delete");
    await page.click("#confirm-delete");
    await waitText("#status", /^Deleted$/, 30_000); // the phase: what happened, not only the contract's Terminated
    await waitText("#refund", /^[1-9][\d.,]* HYPHA$/, 10_000);
    await waitText("#events", /terminated: .* paid to nodes, .* refunded/);
    // The refund lands in the deployer's deposit, shown beside the wallet's balance.
    await waitText("#deposit", /^\+ 9\.9\d* HYPHA deposited$/, 10_000);
    await shot("deleted-desktop");

    // Nodes and the list, with names from metadata.name.
    await page.goto(`${sys.state.apiUrl}/#/nodes`, { waitUntil: "networkidle0" });
    expect(await page.$$eval("#nodes tbody tr", (r) => r.length)).toBe(3);
    await shot("nodes-desktop");
    await page.goto(`${sys.state.apiUrl}/#/`, { waitUntil: "networkidle0" });
    await waitText("#deployments", /deterministic-app/);
    await page.setViewport({ width: 390, height: 844, isMobile: true, hasTouch: true });
    await waitText("#deployments", /deterministic-app/);
    await page.waitForSelector("#balance");
    await shot("deployments-phone");
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    // The phase filter is answered by the server across every page: the deleted deployment is
    // listed under Deleted, not under Running.
    await page.select('select[aria-label="status"]', "Running");
    await page.waitForFunction(() => !document.querySelector("#deployments")?.textContent?.includes("deterministic-app"), { timeout: 10_000 });
    await page.select('select[aria-label="status"]', "Deleted");
    await waitText("#deployments", /deterministic-app/);

    expect(consoleErrors).toEqual([]);
  }, 300_000);

  it("deploys the seed's Job from the wallet and shows its result once the quorum agrees", async () => {
    await page.setViewport({ width: 1280, height: 900 });
    await page.goto(`${sys.state.apiUrl}/#/deploy`, { waitUntil: "networkidle0" });
    // The first test left the page on the list: only the hash changes, so wait for the deploy page to render.
    const jobTemplate = await page.waitForSelector("xpath/.//div[@class='templates']/button[normalize-space()='Job']", { timeout: 15_000 });
    await jobTemplate!.click();
    await page.waitForFunction(() => (document.querySelector("#manifest") as HTMLTextAreaElement).value.includes("sum-of-squares"));
    await page.click("#review-button");
    await page.waitForSelector("#review");
    expect(await page.$eval('dd[data-field="Name"]', (e) => (e as HTMLElement).innerText)).toBe("sum-of-squares");
    await page.click("#sign");
    await page.waitForFunction(() => location.hash.startsWith("#/d/0x"), { timeout: 30_000 });
    await waitText("#status", /^Succeeded$/, 120_000);
    // The result, checked independently of the agent's code: sum of i² for i = 1..1000 is
    // 1000·1001·2001/6; the job prints it and writes it to its declared output, and outputHash is
    // sha256 of the JCS document {"files":{path: sha256(file)},"stdout": sha256(stdout)}.
    const line = `sum of squares 1..1000 = ${(1000 * 1001 * 2001) / 6}\n`;
    const sha = (t: string) => createHash("sha256").update(t).digest("hex");
    const expected = `0x${sha(`{"files":{"/out/result.txt":"${sha(line)}"},"stdout":"${sha(line)}"}`)}`;
    await waitText("#result", new RegExp(`^${expected} \\([23] agreeing\\)$`), 30_000);
    await shot("job-desktop");
    expect(consoleErrors).toEqual([]);
  }, 240_000);
});
