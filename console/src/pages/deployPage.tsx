/**
 * Deploy from the wallet: paste, upload or pick a template manifest; the API prepares it (POST
 * /v1/prepare) and the console checks the specHash and the deployment id itself with the SDK;
 * the review shows everything that will be signed; the wallet signs the intent
 * (eth_signTypedData_v4) and, when the budget is neither deposited nor approved, an ERC-2612
 * permit instead of an approve transaction; the relayer submits (or the wallet does, directly).
 */
import { useState } from "preact/hooks";
import {
  computeDeploymentId,
  computeSpecHash,
  formatCpu,
  formatHypha,
  formatMiB,
  hyphaDomain,
  intentFromWire,
  parseHypha,
  parseManifests,
  signTypedDataWithWallet,
  WalletError,
  type PrepareResponse,
} from "hypha/sdk";
import { deploymentRegistryAbi } from "hypha/abi";
import deploymentYaml from "../../../examples/deployment.yaml?raw";
import jobYaml from "../../../examples/job.yaml?raw";
import podYaml from "../../../examples/zero-image-pod.yaml?raw";
import { api, type ChainInfo } from "../chainInfo";
import { sendFromWallet, type Wallet } from "../wallet";

const TEMPLATES: Record<string, string> = { Deployment: deploymentYaml, Job: jobYaml, "Pod (zero image)": podYaml };

type Step = { kind: "edit" } | { kind: "review"; p: PrepareResponse; verified: boolean } | { kind: "busy"; what: string; p: PrepareResponse };

export function DeployPage({ wallet, info }: { wallet: Wallet; info?: ChainInfo }) {
  const [manifest, setManifest] = useState(deploymentYaml);
  const [budget, setBudget] = useState("10");
  const [maxPrice, setMaxPrice] = useState("0.001");
  const [minutes, setMinutes] = useState("60");
  const [direct, setDirect] = useState(false);
  const [step, setStep] = useState<Step>({ kind: "edit" });
  const [error, setError] = useState<{ field?: string; message: string }>();
  const wrongChain = !!(wallet.account && info && wallet.chainId !== info.chainId);

  const review = async () => {
    setError(undefined);
    if (!wallet.account) return setError({ message: "Connect a wallet first: the intent is signed by the deployer." });
    let budgetWei: bigint, priceWei: bigint;
    try {
      budgetWei = parseHypha("budget", budget);
      priceWei = parseHypha("max price", maxPrice);
    } catch (e) {
      return setError({ message: (e as Error).message });
    }
    const mins = Number(minutes);
    if (!Number.isInteger(mins) || mins < 1 || mins > 525600) return setError({ field: "deadline", message: "deadline: minutes from now, 1 to 525600" });
    try {
      const p = await api.prepare({
        manifest,
        deployer: wallet.account,
        budget: budgetWei.toString(),
        maxPricePerSecond: priceWei.toString(),
        deadline: String(Math.floor(Date.now() / 1000) + mins * 60),
      });
      // Trust, but check: the SDK recomputes what the API says will be signed.
      const [w] = parseManifests(manifest);
      const intent = intentFromWire(p.intent as never);
      const verified =
        computeSpecHash(w.spec) === p.specHash && !!info && computeDeploymentId(hyphaDomain(info.chainId, info.registry), intent) === p.deploymentId;
      setStep({ kind: "review", p, verified });
    } catch (e) {
      setError({ field: (e as { field?: string }).field, message: (e as Error).message });
    }
  };

  const sign = async (p: PrepareResponse) => {
    setError(undefined);
    const provider = wallet.provider!;
    const account = wallet.account!;
    try {
      setStep({ kind: "busy", what: "Waiting for the intent signature in your wallet…", p });
      const signature = await signTypedDataWithWallet(provider, account, p.typedData as never);
      if (direct) {
        setStep({ kind: "busy", what: "Submitting from your wallet…", p });
        const intent = intentFromWire(p.intent as never);
        if (p.permit.needed) await sendFromWallet(provider, account, info!.token, erc20ApproveAbi, "approve", [info!.registry, intent.budget]);
        await publishSpecThroughApi(p);
        await sendFromWallet(provider, account, info!.registry, deploymentRegistryAbi as never, "submitIntent", [intent, signature]);
        location.hash = `#/d/${p.deploymentId}`;
        return;
      }
      let permit;
      if (p.permit.needed) {
        setStep({ kind: "busy", what: "Waiting for the token permit signature (no approve transaction needed)…", p });
        const permitSig = await signTypedDataWithWallet(provider, account, p.permit.typedData as never);
        permit = { value: p.intent.budget, deadline: p.intent.deadline, signature: permitSig };
      }
      setStep({ kind: "busy", what: "Submitting through the relayer…", p });
      const r = await api.submitIntent({ intent: p.intent, signature, spec: p.canonicalSpec, ...(permit ? { permit } : {}) });
      location.hash = `#/d/${r.id}`;
    } catch (e) {
      const rejected = e instanceof WalletError && e.rejected;
      setError({ field: (e as { field?: string }).field, message: rejected ? `${(e as Error).message}. Nothing was submitted.` : (e as Error).message });
      setStep({ kind: "review", p, verified: true });
    }
  };

  if (step.kind !== "edit") {
    const p = step.p;
    const i = p.intent;
    const rows: [string, string][] = [
      ["Name", p.name],
      ["Kind", p.kind],
      ["Replicas", String(i.replicas) + (p.kind === "job" ? ` (quorum ${i.quorum})` : "")],
      ["Resources per replica", `${formatCpu(p.resources.cpuMillis)}, ${formatMiB(p.resources.memoryMiB)} memory, ${formatMiB(p.resources.diskMiB)} disk`],
      ["Image", p.image],
      ["Image root", p.imageRoot],
      ["specHash", p.specHash],
      ["Price limit", `${formatHypha(i.maxPricePerSecond)} per replica-second`],
      ["Budget (escrowed)", formatHypha(i.budget)],
      ["Estimated cost at most", `${formatHypha(p.maxCostPerHour)} per hour`],
      ["Deadline to submit", new Date(Number(i.deadline) * 1000).toLocaleString()],
      ["Retries after failures", String(i.maxRetries)],
      ...((i as any).maxRunSeconds ? [["Paid run time per placement, at most", `${(i as any).maxRunSeconds} s`] as [string, string]] : []),
      ["Deployment id", p.deploymentId],
      [
        "Token allowance",
        p.permit.needed ? "you will also sign an ERC-2612 permit for the budget (no approve transaction)" : "covered by your deposit or allowance",
      ],
    ];
    return (
      <section id="review">
        <h1>Review and sign</h1>
        <p class={step.kind === "review" && !step.verified ? "banner bad" : "note"}>
          {step.kind === "review" && !step.verified
            ? "The API's answer does not match what this console computes: do not sign."
            : "specHash and deployment id checked in this browser with the Hypha SDK."}
        </p>
        <dl class="review">
          {rows.map(([k, v]) => (
            <>
              <dt>{k}</dt>
              <dd class={v.startsWith("0x") ? "mono" : ""} data-field={k}>
                {v}
              </dd>
            </>
          ))}
        </dl>
        <details>
          <summary>Canonical spec (published to the store)</summary>
          <pre>{JSON.stringify(JSON.parse(p.canonicalSpec), null, 2)}</pre>
        </details>
        <details>
          <summary>Typed data to sign (eth_signTypedData_v4)</summary>
          <pre>{JSON.stringify(p.typedData, null, 2)}</pre>
        </details>
        <label>
          <input type="checkbox" checked={direct} onChange={(e) => setDirect((e.target as HTMLInputElement).checked)} /> submit from my wallet instead of the
          relayer (pays gas)
        </label>
        {error && (
          <div class="banner bad" id="deploy-error" role="alert">
            {error.field ? `${error.field}: ` : ""}
            {error.message}
          </div>
        )}
        {step.kind === "busy" ? (
          <p class="note" id="busy">
            {step.what}
          </p>
        ) : (
          <div class="actions">
            <button type="button" id="sign" disabled={wrongChain || (step.kind === "review" && !step.verified)} onClick={() => sign(p)}>
              Sign and deploy
            </button>
            <button type="button" class="secondary" onClick={() => setStep({ kind: "edit" })}>
              Back
            </button>
          </div>
        )}
      </section>
    );
  }

  return (
    <section id="deploy">
      <h1>Deploy</h1>
      <div class="templates">
        Templates:{" "}
        {Object.keys(TEMPLATES).map((t) => (
          <button type="button" class="secondary" onClick={() => setManifest(TEMPLATES[t])}>
            {t}
          </button>
        ))}
        <label class="button secondary">
          Upload…
          <input
            type="file"
            accept=".yaml,.yml,.json"
            hidden
            onChange={async (e) => {
              const f = (e.target as HTMLInputElement).files?.[0];
              if (f) setManifest(await f.text());
            }}
          />
        </label>
      </div>
      <textarea id="manifest" spellcheck={false} rows={16} value={manifest} onInput={(e) => setManifest((e.target as HTMLTextAreaElement).value)} />
      <div class="grid">
        <label>
          Budget (HYPHA)
          <input id="budget" value={budget} onInput={(e) => setBudget((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          Max price per replica-second (HYPHA)
          <input id="max-price" value={maxPrice} onInput={(e) => setMaxPrice((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          Submit within (minutes)
          <input id="deadline" value={minutes} onInput={(e) => setMinutes((e.target as HTMLInputElement).value)} />
        </label>
      </div>
      {error && (
        <div class="banner bad" id="deploy-error" role="alert">
          {error.field ? `${error.field}: ` : ""}
          {error.message}
        </div>
      )}
      <div class="actions">
        <button type="button" id="review-button" disabled={wrongChain} onClick={review}>
          Review
        </button>
        {!wallet.account && <span class="note">Connect a wallet to deploy.</span>}
        {wrongChain && <span class="note bad">Switch your wallet to chain {info!.chainId} first.</span>}
      </div>
    </section>
  );
}

const erc20ApproveAbi = [
  {
    type: "function",
    name: "approve",
    stateMutability: "nonpayable",
    inputs: [
      { name: "spender", type: "address" },
      { name: "value", type: "uint256" },
    ],
    outputs: [{ type: "bool" }],
  },
] as never;

/** A direct submission bypasses the relayer, which publishes specs: publish it through the API first. */
async function publishSpecThroughApi(p: PrepareResponse): Promise<void> {
  const res = await fetch("/v1/specs", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ spec: p.canonicalSpec }) });
  if (!res.ok) throw new Error(`publishing the spec: ${(await res.json()).error?.message ?? res.status}`);
}
