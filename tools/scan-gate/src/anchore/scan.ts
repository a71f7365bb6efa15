import type { Clock } from '../clock';
import { ToolError } from '../errors';
import type { ScanResult } from '../types';
import {
  type AnchoreApi,
  type AnchoreApiVersion,
  AnchoreV1Api,
  AnchoreV2Api,
  detectApiVersion,
  type ImageReference,
} from './api';
import { type AnchoreConnection, AnchoreHttpClient, type HttpRetryOptions } from './http';
import { type PollOptions, waitForPolicyEvaluation } from './poll';

/** Options of an image scan on an Anchore server. */
export interface AnchoreScanOptions {
  connection: AnchoreConnection;
  api: AnchoreApiVersion | 'auto';
  poll: PollOptions;
  httpRetry: HttpRetryOptions;
  clock: Clock;
  /** Tag to associate when the target is a digest pull string. */
  tag?: string;
  policyId?: string;
  /** `all`, `os` or `non-os`. */
  vulnerabilityType: string;
  /** Ask the server to analyze the image again even when it has an analysis of it. */
  force: boolean;
  log: (message: string) => void;
}

/**
 * Splits an image target into what the Anchore API needs: a digest pull string (`repo@sha256:…`) must come with
 * a tag to associate, a tag reference is registered as it is.
 */
export function toImageReference(target: string, tag: string | undefined): ImageReference {
  if (/@sha256:[a-fA-F0-9]{64}$/.test(target)) {
    if (!tag) {
      throw new ToolError(
        `${target} is a digest reference; the Anchore API also needs the tag to associate with it: pass --tag ` +
          'REGISTRY/REPOSITORY:TAG.',
      );
    }
    return { tag, digestPullString: target };
  }
  if (target.includes('@')) {
    throw new ToolError(
      `${target} is not a valid image reference: a digest must be @sha256: and 64 hex digits.`,
    );
  }
  return { tag: target };
}

/** Creates the API client for a version, detecting it when asked to. */
export async function connectAnchore(
  connection: AnchoreConnection,
  version: AnchoreApiVersion | 'auto',
  clock: Clock,
  httpRetry: HttpRetryOptions,
): Promise<AnchoreApi> {
  const http = new AnchoreHttpClient(connection, clock, httpRetry);
  const resolved = version === 'auto' ? await detectApiVersion(http) : version;
  return resolved === 'v2' ? new AnchoreV2Api(http) : new AnchoreV1Api(http);
}

/** Registers an image, waits for its analysis and policy evaluation, and reads its vulnerabilities. */
export async function scanWithAnchore(target: string, options: AnchoreScanOptions): Promise<ScanResult> {
  const reference = toImageReference(target, options.tag);
  const api = await connectAnchore(options.connection, options.api, options.clock, options.httpRetry);
  options.log(`anchore: using API ${api.version} at ${options.connection.rootUrl}`);

  const record = await api.addImage(reference, options.force);
  options.log(`anchore: registered ${reference.digestPullString ?? reference.tag} as ${record.imageDigest}`);

  const { policy } = await waitForPolicyEvaluation(
    api,
    {
      imageDigest: record.imageDigest,
      tag: reference.tag,
      ...(options.policyId ? { policyId: options.policyId } : {}),
    },
    options.poll,
    options.clock,
    options.log,
  );
  const findings = await api.getVulnerabilities(record.imageDigest, options.vulnerabilityType);
  return {
    backend: api.version === 'v2' ? 'anchore-v2' : 'anchore-v1',
    target,
    imageDigest: record.imageDigest,
    findings,
    policy,
    scanner: { name: 'anchore', version: `API ${api.version}` },
  };
}
