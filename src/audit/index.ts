/**
 * The audit part: re-checks a deployment from chain data alone, plus the manifest or the public spec
 * blob. collect.ts reads the chain (the I/O), checks.ts and transitions.ts judge (pure), and
 * auditDeployment.ts runs both for the CLI (`hypha audit`) and the REST API (`/v1/deployments/{id}/audit`).
 */
export { auditDeployment, specHashFromStore, specHashFromWorkloads, type AuditOptions } from "./auditDeployment";
export type { AuditCheck, AuditInput, AuditReport, CheckStatus } from "./checks";
