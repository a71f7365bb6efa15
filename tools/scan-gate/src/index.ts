// Library surface of the scan gate, for the Azure DevOps task and other callers.
export { type AllowlistEntry, loadAllowlist, parseAllowlist } from './allowlist';
export { type AnchoreApi, AnchoreV1Api, AnchoreV2Api, detectApiVersion } from './anchore/api';
export { AnchoreHttpClient, DEFAULT_HTTP_RETRY } from './anchore/http';
export { DEFAULT_POLL, waitForPolicyEvaluation } from './anchore/poll';
export { scanWithAnchore } from './anchore/scan';
export { type Clock, systemClock } from './clock';
export { EXIT_CODES, ToolError } from './errors';
export { evaluateGate, type GateOptions, type GateOutcome } from './gate';
export { scanWithGrype } from './grype';
export { type RunContext, runCli } from './run';
export type { Finding, PolicyResult, ScanResult } from './types';
