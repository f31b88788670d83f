/**
 * The routes a third party builds on, mounted by server.ts in one call: the OpenAPI document and
 * its rendered reference, the signing facts, prepare (manifest -> typed data) and the live stream.
 */
import express, { type Express } from "express";
import type { PublicClient } from "viem";
import type { HyphaAddresses } from "../chain/addresses";
import type { DeploymentIndex } from "./deploymentIndex";
import { logsHandler, publishSpecHandler, specHandler } from "./deploymentExtras";
import { createDeploymentStreamHandler } from "./deploymentStream";
import { renderDocsPage } from "./docsPage";
import { openApiDocument } from "./openapi";
import { createPrepareHandler } from "./prepareRoute";
import { createSigningInfoHandler } from "./signingInfo";

export interface DeveloperRoutesOptions {
  publicClient: PublicClient;
  addresses: HyphaAddresses;
  storeUrl: string;
  index: DeploymentIndex;
  /** Stream head polling interval (ms). */
  streamPollMs?: number;
}

/** @example mountDeveloperRoutes(app, { publicClient, addresses, storeUrl, index }) */
export function mountDeveloperRoutes(app: Express, opts: DeveloperRoutesOptions): void {
  const doc = openApiDocument(opts.addresses);
  const docsHtml = renderDocsPage(doc);
  app.get("/openapi.json", (_req, res) => {
    res.json(doc);
  });
  app.get("/docs", (_req, res) => {
    res.type("text/html").send(docsHtml);
  });
  app.get("/v1/eip712", createSigningInfoHandler(opts.publicClient, opts.addresses));
  app.post("/v1/prepare", express.json({ limit: "1mb" }), createPrepareHandler(opts));
  app.get("/v1/deployments/:id/stream", createDeploymentStreamHandler({ ...opts, pollMs: opts.streamPollMs }));
  app.get("/v1/deployments/:id/spec", specHandler(opts));
  app.get("/v1/deployments/:id/replicas/:index/logs", logsHandler(opts));
  app.post("/v1/specs", express.json({ limit: "1mb" }), publishSpecHandler(opts));
}
