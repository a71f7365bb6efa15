import { ToolError } from '../errors';
import { normalizeSeverity } from '../severity';
import type { Finding, FixState, PolicyAction, PolicyResult } from '../types';
import type { AnchoreHttpClient, AnchoreResponse } from './http';

// Request and response shapes follow Anchore's published API specifications:
// - v2: Anchore Enterprise OpenAPI 3 document "Anchore API" version 2.14.0 (anchore/enterprise-client-go,
//   pkg/anchore-api-swagger-v5.23.0-release.yaml): ImageAnalysisRequest, AnchoreImage, PolicyEvaluation,
//   ImagePackageVulnerabilityResponse, RegistryConfigurationRequest.
// - v1: Anchore Engine Swagger 2.0 document "Anchore Engine API Server" version 0.1.14 (anchore/anchore-engine,
//   anchore_engine/services/apiext/swagger/swagger.yaml): the same objects with camelCase image fields, list
//   envelopes and `pullstring`. Its PolicyEvaluation is an untyped object; the engine's controller
//   (make_response_policyeval in anchore_engine/services/apiext/api/controllers/images.py) fills it as
//   [{digest: {tag: [{detail, policyId, status, last_evaluation}]}}] with status "pass" for GO and WARN.

/** Anchore API version of a server. */
export type AnchoreApiVersion = 'v1' | 'v2';

/** Image reference to register: a tag, or a digest pull string with the tag to associate. */
export interface ImageReference {
  /** Full tag such as `myregistry.azurecr.io/app:1.2.3`. */
  tag: string;
  /** Digest pull string such as `myregistry.azurecr.io/app@sha256:…`, when registering by digest. */
  digestPullString?: string;
}

/** State of an image on the server. */
export interface ImageRecord {
  imageDigest: string;
  /** `not_analyzed`, `analyzing`, `analyzed`, `analysis_failed`, or a state this tool does not know. */
  analysisStatus: string;
}

/** Policy check result, or `not-ready` when the server returned 404 (no evaluation yet). */
export type PolicyCheck = { kind: 'ready'; result: PolicyResult } | { kind: 'not-ready' };

/** Registry credentials to store on the server. */
export interface RegistryRegistration {
  registry: string;
  user: string;
  password: string;
  registryType: string;
  verifyTls: boolean;
  name?: string;
}

/** The operations of the Anchore API the gate uses, independent of the API version. */
export interface AnchoreApi {
  readonly version: AnchoreApiVersion;
  addImage(image: ImageReference, force: boolean): Promise<ImageRecord>;
  getImage(imageDigest: string): Promise<ImageRecord>;
  checkPolicy(imageDigest: string, tag: string, policyId?: string): Promise<PolicyCheck>;
  getVulnerabilities(imageDigest: string, vulnerabilityType: string): Promise<Finding[]>;
  addRegistry(registration: RegistryRegistration): Promise<'created' | 'updated'>;
}

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** Raises a ToolError for an unexpected status, with the server's message (ApiErrorResponse.message). */
function unexpected(operation: string, response: AnchoreResponse): ToolError {
  const message = isObject(response.body) ? asString(response.body.message) : undefined;
  const hint =
    response.status === 401 || response.status === 403
      ? ' Check ANCHORE_USER and ANCHORE_PASSWORD and the user’s permissions.'
      : '';
  return new ToolError(
    `${operation} failed with HTTP ${response.status}: ${message ?? response.text.slice(0, 300)}.${hint}`,
  );
}

function normalizeAction(value: unknown): PolicyAction | undefined {
  const text = asString(value)?.toLowerCase();
  return text === 'go' || text === 'warn' || text === 'stop' ? text : undefined;
}

/** Maps Anchore's fix data to a fix state; Anchore writes "None" in `fix` when no fixed version is known. */
function toFixState(fixVersions: string[], willNotFix: unknown): FixState {
  if (fixVersions.length > 0) return 'fixed';
  if (willNotFix === true) return 'not-fixed';
  return 'unknown';
}

/** Converts one vulnerability record (Vulnerability in v1, PackageVulnerability in v2) to a finding. */
function toFinding(record: JsonObject): Finding {
  const fix = asString(record.fix);
  const fixVersions = fix && fix !== 'None' ? fix.split(',').map((v) => v.trim()) : [];
  const scores: number[] = [];
  for (const source of [record.nvd_data, record.vendor_data]) {
    if (!Array.isArray(source)) continue;
    for (const entry of source) {
      if (!isObject(entry)) continue;
      for (const key of ['cvss_v3', 'cvss_v2']) {
        const cvss = entry[key];
        if (isObject(cvss) && typeof cvss.base_score === 'number' && cvss.base_score >= 0) {
          scores.push(cvss.base_score);
        }
      }
    }
  }
  const packagePath = asString(record.package_path);
  const url = asString(record.url);
  const description = asString(record.description);
  return {
    id: asString(record.vuln) ?? 'unknown-vulnerability',
    severity: normalizeSeverity(record.severity),
    packageName: asString(record.package_name) ?? asString(record.package) ?? 'unknown-package',
    packageVersion: asString(record.package_version) ?? '',
    packageType: asString(record.package_type) ?? '',
    fixVersions,
    fixState: toFixState(fixVersions, record.will_not_fix),
    ...(packagePath && packagePath !== 'pkgdb' ? { location: packagePath } : {}),
    ...(url ? { url } : {}),
    ...(description ? { description } : {}),
    ...(scores.length > 0 ? { cvssScore: Math.max(...scores) } : {}),
  };
}

/** Collects gate/trigger messages of findings whose action is warn or stop (v2 PolicyEvaluationFinding). */
function findingReasons(findings: unknown): string[] {
  if (!Array.isArray(findings)) return [];
  return findings
    .filter(isObject)
    .filter((f) => f.allowlisted !== true && (f.action === 'stop' || f.action === 'warn'))
    .map((f) => `${asString(f.action)}: ${asString(f.gate)}/${asString(f.trigger)}: ${asString(f.message)}`);
}

/** Anchore Enterprise v2 API (`/v2`). */
export class AnchoreV2Api implements AnchoreApi {
  readonly version = 'v2';

  constructor(private readonly http: AnchoreHttpClient) {}

  private toRecord(body: unknown, operation: string): ImageRecord {
    if (!isObject(body) || typeof body.image_digest !== 'string') {
      throw new ToolError(
        `${operation}: the server's response has no image_digest; is ANCHORE_URL an Anchore v2 API?`,
      );
    }
    return { imageDigest: body.image_digest, analysisStatus: asString(body.analysis_status) ?? 'unknown' };
  }

  async addImage(image: ImageReference, force: boolean): Promise<ImageRecord> {
    const source = image.digestPullString
      ? { digest: { pull_string: image.digestPullString, tag: image.tag } }
      : { tag: { pull_string: image.tag } };
    const response = await this.http.request('POST', `/v2/images${force ? '?force=true' : ''}`, { source });
    if (response.status !== 200)
      throw unexpected(`registering ${image.digestPullString ?? image.tag}`, response);
    return this.toRecord(response.body, 'registering the image');
  }

  async getImage(imageDigest: string): Promise<ImageRecord> {
    const response = await this.http.request('GET', `/v2/images/${encodeURIComponent(imageDigest)}`);
    if (response.status !== 200) throw unexpected(`reading image ${imageDigest}`, response);
    return this.toRecord(response.body, 'reading the image');
  }

  async checkPolicy(imageDigest: string, tag: string, policyId?: string): Promise<PolicyCheck> {
    const query = new URLSearchParams({ tag, detail: 'true' });
    if (policyId) query.set('policy_id', policyId);
    const response = await this.http.request(
      'GET',
      `/v2/images/${encodeURIComponent(imageDigest)}/check?${query.toString()}`,
    );
    if (response.status === 404) return { kind: 'not-ready' };
    if (response.status !== 200) throw unexpected(`checking the policy of ${imageDigest}`, response);

    const body = response.body;
    const evaluation = isObject(body) && Array.isArray(body.evaluations) ? body.evaluations[0] : undefined;
    const finalAction = isObject(evaluation) ? normalizeAction(evaluation.final_action) : undefined;
    if (!isObject(body) || !isObject(evaluation) || !finalAction) {
      throw new ToolError(`the policy check of ${imageDigest} returned no evaluations[0].final_action`);
    }
    const details = isObject(evaluation.details) ? evaluation.details : {};
    const policyIdOut = asString(body.policy_id);
    return {
      kind: 'ready',
      result: {
        finalAction,
        reasons: findingReasons(details.findings),
        ...(policyIdOut ? { policyId: policyIdOut } : {}),
      },
    };
  }

  async getVulnerabilities(imageDigest: string, vulnerabilityType: string): Promise<Finding[]> {
    const response = await this.http.request(
      'GET',
      `/v2/images/${encodeURIComponent(imageDigest)}/vuln/${encodeURIComponent(vulnerabilityType)}`,
    );
    if (response.status !== 200) throw unexpected(`reading the vulnerabilities of ${imageDigest}`, response);
    const body = response.body;
    if (!isObject(body) || !Array.isArray(body.vulnerabilities)) {
      throw new ToolError(`the vulnerability report of ${imageDigest} has no vulnerabilities array`);
    }
    return body.vulnerabilities.filter(isObject).map(toFinding);
  }

  addRegistry(registration: RegistryRegistration): Promise<'created' | 'updated'> {
    return addRegistry(this.http, '/v2', registration);
  }
}

/** Anchore Engine v1 API (`/v1`). */
export class AnchoreV1Api implements AnchoreApi {
  readonly version = 'v1';

  constructor(private readonly http: AnchoreHttpClient) {}

  private toRecord(body: unknown, operation: string): ImageRecord {
    // v1 returns AnchoreImageList, an array, for image requests.
    const image = Array.isArray(body) ? body[0] : undefined;
    if (!isObject(image) || typeof image.imageDigest !== 'string') {
      throw new ToolError(
        `${operation}: the server's response has no imageDigest; is ANCHORE_URL an Anchore Engine v1 API?`,
      );
    }
    return { imageDigest: image.imageDigest, analysisStatus: asString(image.analysis_status) ?? 'unknown' };
  }

  async addImage(image: ImageReference, force: boolean): Promise<ImageRecord> {
    const source = image.digestPullString
      ? {
          digest: {
            pullstring: image.digestPullString,
            tag: image.tag,
            // Required by the v1 schema; the time of registration is what the engine would assume.
            creation_timestamp_override: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
          },
        }
      : { tag: { pullstring: image.tag } };
    const response = await this.http.request('POST', `/v1/images${force ? '?force=true' : ''}`, { source });
    if (response.status !== 200)
      throw unexpected(`registering ${image.digestPullString ?? image.tag}`, response);
    return this.toRecord(response.body, 'registering the image');
  }

  async getImage(imageDigest: string): Promise<ImageRecord> {
    const response = await this.http.request('GET', `/v1/images/${encodeURIComponent(imageDigest)}`);
    if (response.status !== 200) throw unexpected(`reading image ${imageDigest}`, response);
    return this.toRecord(response.body, 'reading the image');
  }

  async checkPolicy(imageDigest: string, tag: string, policyId?: string): Promise<PolicyCheck> {
    const query = new URLSearchParams({ tag, detail: 'true' });
    if (policyId) query.set('policyId', policyId);
    const response = await this.http.request(
      'GET',
      `/v1/images/${encodeURIComponent(imageDigest)}/check?${query.toString()}`,
    );
    if (response.status === 404) return { kind: 'not-ready' };
    if (response.status !== 200) throw unexpected(`checking the policy of ${imageDigest}`, response);

    const first = Array.isArray(response.body) ? response.body[0] : undefined;
    const byTag = isObject(first) ? first[imageDigest] : undefined;
    const evaluations = isObject(byTag) ? Object.values(byTag)[0] : undefined;
    const evaluation = Array.isArray(evaluations) ? evaluations[0] : undefined;
    if (!isObject(evaluation)) {
      throw new ToolError(`the policy check of ${imageDigest} has no evaluation for tag ${tag}`);
    }
    // The engine sets no policyId ("N/A") when the image has no evaluation yet: treat that as not ready.
    if (evaluation.policyId === 'N/A') return { kind: 'not-ready' };

    const { action, reasons } = v1ActionAndReasons(evaluation);
    const policyIdOut = asString(evaluation.policyId);
    return {
      kind: 'ready',
      result: { finalAction: action, reasons, ...(policyIdOut ? { policyId: policyIdOut } : {}) },
    };
  }

  async getVulnerabilities(imageDigest: string, vulnerabilityType: string): Promise<Finding[]> {
    const response = await this.http.request(
      'GET',
      `/v1/images/${encodeURIComponent(imageDigest)}/vuln/${encodeURIComponent(vulnerabilityType)}`,
    );
    if (response.status !== 200) throw unexpected(`reading the vulnerabilities of ${imageDigest}`, response);
    const body = response.body;
    if (!isObject(body) || !Array.isArray(body.vulnerabilities)) {
      throw new ToolError(`the vulnerability report of ${imageDigest} has no vulnerabilities array`);
    }
    return body.vulnerabilities.filter(isObject).map(toFinding);
  }

  addRegistry(registration: RegistryRegistration): Promise<'created' | 'updated'> {
    return addRegistry(this.http, '/v1', registration);
  }
}

/**
 * Reads the final action of a v1 evaluation from its detail, at the paths where anchore-cli reads it
 * (anchorecli/cli/utils.py). The action is detail.result.final_action, and the gate table is
 * detail.result.result[image_id].result as {header, rows}. Without detail, `status` only separates fail (stop)
 * from pass (go or warn).
 */
function v1ActionAndReasons(evaluation: JsonObject): { action: PolicyAction; reasons: string[] } {
  const detail = isObject(evaluation.detail) ? evaluation.detail : {};
  const outer = isObject(detail.result) ? detail.result : {};
  const action = normalizeAction(outer.final_action);
  const imageId = asString(outer.image_id);
  const perImage = imageId && isObject(outer.result) ? outer.result[imageId] : undefined;
  const table = isObject(perImage) && isObject(perImage.result) ? perImage.result : {};
  const reasons: string[] = [];

  const header = Array.isArray(table.header) ? (table.header as unknown[]) : [];
  const rows = Array.isArray(table.rows) ? (table.rows as unknown[]) : [];
  const gateIndex = header.indexOf('Gate');
  const triggerIndex = header.indexOf('Trigger');
  const outputIndex = header.indexOf('Check_Output');
  const actionIndex = header.indexOf('Gate_Action');
  for (const row of rows) {
    if (!Array.isArray(row)) continue;
    const rowAction = asString(row[actionIndex])?.toLowerCase();
    if (rowAction === 'stop' || rowAction === 'warn') {
      reasons.push(`${rowAction}: ${row[gateIndex]}/${row[triggerIndex]}: ${row[outputIndex]}`);
    }
  }

  if (action) return { action, reasons };
  return { action: evaluation.status === 'pass' ? 'go' : 'stop', reasons };
}

/**
 * Adds a registry (POST /registries), and updates it instead when the server reports that it exists (409).
 * NOTE: the 409 for an existing registry is assumed; no real server was available to confirm it.
 */
async function addRegistry(
  http: AnchoreHttpClient,
  prefix: string,
  registration: RegistryRegistration,
): Promise<'created' | 'updated'> {
  const body = {
    registry: registration.registry,
    registry_user: registration.user,
    registry_pass: registration.password,
    registry_type: registration.registryType,
    registry_verify: registration.verifyTls,
    ...(registration.name ? { registry_name: registration.name } : {}),
  };
  const created = await http.request('POST', `${prefix}/registries?validate=true`, body);
  if (created.status === 200) return 'created';
  if (created.status !== 409) throw unexpected(`adding registry ${registration.registry}`, created);

  const updated = await http.request(
    'PUT',
    `${prefix}/registries/${encodeURIComponent(registration.registry)}?validate=true`,
    body,
  );
  if (updated.status !== 200) throw unexpected(`updating registry ${registration.registry}`, updated);
  return 'updated';
}

/**
 * Detects the API version. GET /v2/ returns 200 on Anchore Enterprise 5 and later, and GET /v1/ on Anchore Engine,
 * because both "ping" operations return the version prefix as a JSON string.
 */
export async function detectApiVersion(http: AnchoreHttpClient): Promise<AnchoreApiVersion> {
  const statuses: string[] = [];
  for (const version of ['v2', 'v1'] as const) {
    const response = await http.request('GET', `/${version}/`);
    if (response.status === 200) return version;
    statuses.push(`GET /${version}/ returned HTTP ${response.status}`);
  }
  throw new ToolError(
    `cannot detect the Anchore API version (${statuses.join(', ')}). Check ANCHORE_URL (the server root, ` +
      'for example https://anchore.example.com:8228) or pass --api v1 or --api v2.',
  );
}
