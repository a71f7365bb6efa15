import { parseArgs } from 'node:util';
import type { AnchoreApiVersion } from './anchore/api';
import { type AnchoreConnection, DEFAULT_HTTP_RETRY, type HttpRetryOptions } from './anchore/http';
import { DEFAULT_POLL, type PollOptions } from './anchore/poll';
import { ToolError } from './errors';
import { parseSeverity, type Severity, THRESHOLD_SEVERITIES } from './severity';

/** Names of the environment variables that carry credentials. */
export const ENV = {
  anchoreUrl: 'ANCHORE_URL',
  anchoreUser: 'ANCHORE_USER',
  anchorePassword: 'ANCHORE_PASSWORD',
  registryUser: 'REGISTRY_USER',
  registryPassword: 'REGISTRY_PASSWORD',
} as const;

/** Report files to write; each is optional. */
export interface ReportPaths {
  sarif?: string;
  junit?: string;
  json?: string;
  markdown?: string;
}

/** Parsed options of the `scan` command. */
export interface ScanCommand {
  command: 'scan';
  backend: 'grype' | 'anchore';
  targets: string[];
  api: AnchoreApiVersion | 'auto';
  tag?: string;
  policyId?: string;
  vulnerabilityType: 'all' | 'os' | 'non-os';
  force: boolean;
  poll: PollOptions;
  httpRetry: HttpRetryOptions;
  severityThreshold: Severity | 'none';
  maxCounts: Partial<Record<Severity, number>>;
  onlyFixed: boolean;
  allowlistFile?: string;
  reportOnly: boolean;
  reports: ReportPaths;
  grypeArgs: string[];
  quiet: boolean;
}

/** Parsed options of the `register-registry` command. */
export interface RegisterRegistryCommand {
  command: 'register-registry';
  registry: string;
  registryType: string;
  registryName?: string;
  verifyTls: boolean;
  api: AnchoreApiVersion | 'auto';
  httpRetry: HttpRetryOptions;
}

/** Parsed command line. */
export type Command = ScanCommand | RegisterRegistryCommand | { command: 'help' };

/** Usage text printed by --help. */
export const USAGE = `Usage:
  scan-gate [scan] [options] TARGET...
  scan-gate register-registry --registry HOST [options]

Scan each TARGET and fail when it breaks the gate's rules.
Exit codes: 0 passed (or --report-only), 1 tool error, 2 gate failed.

Backends:
  --backend grype|anchore      grype (default): TARGET is a directory, a zip archive (such as a Lambda package),
                               another file, or an image reference (a Grype source like registry:IMAGE also works).
                               anchore: TARGET is an image tag or digest pull string on a registry the server reads.
  --api auto|v1|v2             Anchore API: v2 = Anchore Enterprise, v1 = Anchore Engine (default: auto-detect)
  --tag REPO:TAG               tag to associate when TARGET is a digest reference (anchore)
  --policy-id ID               evaluate this policy instead of the active one (anchore)
  --vuln-type all|os|non-os    vulnerability types to read (anchore, default all)
  --force                      ask the server to analyze the image again (anchore)
  --grype-arg ARG              extra argument for grype, repeatable (for example --grype-arg=--platform=linux/arm64)

Waiting for analysis (anchore):
  --max-attempts N             status reads before giving up (default 100)
  --interval SECONDS           delay between reads (default 5)
  --backoff FACTOR             multiply the delay by this after each read (default 1, fixed delay)
  --max-interval SECONDS       upper bound of one delay (default 60)
  --timeout SECONDS            overall limit (default 900)
  --stuck-after SECONDS        fail when the status has not changed for this long (default 300, 0 = off)
  --http-retries N             retries of one request after HTTP 5xx, 429 or a dropped connection (default 5)

Gate:
  --severity-threshold LEVEL   negligible, low, medium, high (default), critical or none: findings at or above
                               LEVEL fail
  --max-count LEVEL=N          allow up to N findings of LEVEL (replaces the threshold for LEVEL), repeatable
  --only-fixed                 ignore findings that have no fixed version
  --allowlist FILE             accepted vulnerabilities (YAML or JSON: id, reason, expires YYYY-MM-DD, package)
  --report-only                evaluate and write reports, but exit 0

Reports:
  --sarif FILE  --junit FILE  --json FILE  --markdown FILE
  --quiet                      print only the final verdict

register-registry (stores registry credentials on the Anchore server):
  --registry HOST              registry host, for example myregistry.azurecr.io
  --registry-type TYPE         default docker_v2
  --registry-name NAME         display name
  --no-verify-tls              do not verify the registry's TLS certificate

Credentials come only from the environment, never from options:
  ANCHORE_URL, ANCHORE_USER, ANCHORE_PASSWORD   Anchore server root and login
  REGISTRY_USER, REGISTRY_PASSWORD              registry login for register-registry
`;

// Options that would put a credential on the command line, where process listings and CI logs can show it.
const CREDENTIAL_OPTION =
  /^--?(password|pass|passwd|user|username|token|api-key|registry-pass(word)?|registry-user)(=|$)/i;

function positiveInteger(
  name: string,
  value: string | undefined,
  fallback: number,
  allowZero = false,
): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number < (allowZero ? 0 : 1)) {
    throw new ToolError(
      `--${name} must be a whole number ${allowZero ? '>= 0' : '>= 1'}, got ${JSON.stringify(value)}`,
    );
  }
  return number;
}

function positiveNumber(name: string, value: string | undefined, fallback: number, minimum: number): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isFinite(number) || number < minimum) {
    throw new ToolError(`--${name} must be a number >= ${minimum}, got ${JSON.stringify(value)}`);
  }
  return number;
}

function oneOf<T extends string>(
  name: string,
  value: string | undefined,
  allowed: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new ToolError(`--${name} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as T;
}

function parseMaxCounts(values: string[]): Partial<Record<Severity, number>> {
  const counts: Partial<Record<Severity, number>> = {};
  for (const value of values) {
    const match = /^([a-z]+)=(\d+)$/i.exec(value.trim());
    const severity = match?.[1] ? parseSeverity(match[1]) : undefined;
    if (!match?.[2] || !severity) {
      throw new ToolError(
        `--max-count must look like LEVEL=N with LEVEL one of unknown, negligible, low, medium, high, critical; got ${JSON.stringify(value)}`,
      );
    }
    counts[severity] = Number(match[2]);
  }
  return counts;
}

const SECOND = 1000;

function parseScan(args: string[]): ScanCommand {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      backend: { type: 'string' },
      api: { type: 'string' },
      tag: { type: 'string' },
      'policy-id': { type: 'string' },
      'vuln-type': { type: 'string' },
      force: { type: 'boolean' },
      'max-attempts': { type: 'string' },
      interval: { type: 'string' },
      backoff: { type: 'string' },
      'max-interval': { type: 'string' },
      timeout: { type: 'string' },
      'stuck-after': { type: 'string' },
      'http-retries': { type: 'string' },
      'severity-threshold': { type: 'string' },
      'max-count': { type: 'string', multiple: true },
      'only-fixed': { type: 'boolean' },
      allowlist: { type: 'string' },
      'report-only': { type: 'boolean' },
      sarif: { type: 'string' },
      junit: { type: 'string' },
      json: { type: 'string' },
      markdown: { type: 'string' },
      'grype-arg': { type: 'string', multiple: true },
      quiet: { type: 'boolean' },
    },
  });

  if (positionals.length === 0)
    throw new ToolError('no target given; name a directory, zip archive or image (see --help)');
  const thresholdText = values['severity-threshold'] ?? 'high';
  const threshold = thresholdText === 'none' ? 'none' : parseSeverity(thresholdText);
  if (threshold === undefined || (threshold !== 'none' && !THRESHOLD_SEVERITIES.includes(threshold))) {
    throw new ToolError(
      `--severity-threshold must be one of ${THRESHOLD_SEVERITIES.join(', ')} or none, got ${JSON.stringify(thresholdText)}`,
    );
  }

  const reports: ReportPaths = {};
  for (const key of ['sarif', 'junit', 'json', 'markdown'] as const) {
    const value = values[key];
    if (value) reports[key] = value;
  }
  const poll: PollOptions = {
    maxAttempts: positiveInteger('max-attempts', values['max-attempts'], DEFAULT_POLL.maxAttempts),
    intervalMs: positiveNumber('interval', values.interval, DEFAULT_POLL.intervalMs / SECOND, 0) * SECOND,
    backoff: positiveNumber('backoff', values.backoff, DEFAULT_POLL.backoff, 1),
    maxIntervalMs:
      positiveNumber('max-interval', values['max-interval'], DEFAULT_POLL.maxIntervalMs / SECOND, 0) * SECOND,
    timeoutMs: positiveNumber('timeout', values.timeout, DEFAULT_POLL.timeoutMs / SECOND, 1) * SECOND,
    stuckAfterMs:
      positiveNumber('stuck-after', values['stuck-after'], DEFAULT_POLL.stuckAfterMs / SECOND, 0) * SECOND,
  };

  return {
    command: 'scan',
    backend: oneOf('backend', values.backend, ['grype', 'anchore'], 'grype'),
    targets: positionals,
    api: oneOf('api', values.api, ['auto', 'v1', 'v2'], 'auto'),
    ...(values.tag ? { tag: values.tag } : {}),
    ...(values['policy-id'] ? { policyId: values['policy-id'] } : {}),
    vulnerabilityType: oneOf('vuln-type', values['vuln-type'], ['all', 'os', 'non-os'], 'all'),
    force: values.force ?? false,
    poll,
    httpRetry: {
      ...DEFAULT_HTTP_RETRY,
      maxRetries: positiveInteger(
        'http-retries',
        values['http-retries'],
        DEFAULT_HTTP_RETRY.maxRetries,
        true,
      ),
    },
    severityThreshold: threshold,
    maxCounts: parseMaxCounts(values['max-count'] ?? []),
    onlyFixed: values['only-fixed'] ?? false,
    ...(values.allowlist ? { allowlistFile: values.allowlist } : {}),
    reportOnly: values['report-only'] ?? false,
    reports,
    grypeArgs: values['grype-arg'] ?? [],
    quiet: values.quiet ?? false,
  };
}

function parseRegisterRegistry(args: string[]): RegisterRegistryCommand {
  const { values } = parseArgs({
    args,
    options: {
      registry: { type: 'string' },
      'registry-type': { type: 'string' },
      'registry-name': { type: 'string' },
      'no-verify-tls': { type: 'boolean' },
      api: { type: 'string' },
      'http-retries': { type: 'string' },
    },
  });
  if (!values.registry)
    throw new ToolError('--registry is required, for example --registry myregistry.azurecr.io');
  return {
    command: 'register-registry',
    registry: values.registry,
    registryType: values['registry-type'] ?? 'docker_v2',
    ...(values['registry-name'] ? { registryName: values['registry-name'] } : {}),
    verifyTls: !values['no-verify-tls'],
    api: oneOf('api', values.api, ['auto', 'v1', 'v2'], 'auto'),
    httpRetry: {
      ...DEFAULT_HTTP_RETRY,
      maxRetries: positiveInteger(
        'http-retries',
        values['http-retries'],
        DEFAULT_HTTP_RETRY.maxRetries,
        true,
      ),
    },
  };
}

/**
 * Parses the command line.
 *
 * @throws ToolError for unknown or invalid options, and for any option that would carry a credential.
 */
export function parseCommand(argv: string[]): Command {
  const credential = argv.find((arg) => CREDENTIAL_OPTION.test(arg));
  if (credential) {
    // Only the option name is echoed: the value may be the secret itself.
    const name = credential.split('=')[0];
    throw new ToolError(
      `${name} is not accepted: credentials are read only from the environment (${ENV.anchoreUser}, ` +
        `${ENV.anchorePassword}, ${ENV.registryUser}, ${ENV.registryPassword}), never from the command line`,
    );
  }
  if (argv.includes('--help') || argv.includes('-h')) return { command: 'help' };
  try {
    if (argv[0] === 'register-registry') return parseRegisterRegistry(argv.slice(1));
    return parseScan(argv[0] === 'scan' ? argv.slice(1) : argv);
  } catch (error) {
    if (error instanceof ToolError) throw error;
    throw new ToolError(`${(error as Error).message} (see --help)`, { cause: error });
  }
}

/**
 * Replaces everything between the scheme and the last `@` of a URL with `***`, so that a URL that fails to parse
 * is never printed with its user name and password, not even one with an unescaped `/` or `#`.
 */
function withoutUserInfo(url: string): string {
  const at = url.lastIndexOf('@');
  if (at < 0) return url;
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url)?.[0] ?? '';
  return `${scheme}***@${url.slice(at + 1)}`;
}

/** Reads a required environment variable. */
function required(env: NodeJS.ProcessEnv, name: string, purpose: string): string {
  const value = env[name];
  if (!value) throw new ToolError(`${name} is not set; it must hold ${purpose}`);
  return value;
}

/**
 * Reads the Anchore connection from ANCHORE_URL, ANCHORE_USER and ANCHORE_PASSWORD. A `/v1` or `/v2` suffix on
 * the URL is removed and, with `--api auto`, taken as the API version.
 */
export function readAnchoreConnection(
  env: NodeJS.ProcessEnv,
  api: AnchoreApiVersion | 'auto',
): { connection: AnchoreConnection; api: AnchoreApiVersion | 'auto' } {
  const url = required(
    env,
    ENV.anchoreUrl,
    'the Anchore server URL, such as https://anchore.example.com:8228',
  );
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ToolError(`${ENV.anchoreUrl} is not a valid URL: ${JSON.stringify(withoutUserInfo(url))}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ToolError(
      `${ENV.anchoreUrl} must be an http or https URL, such as https://anchore.example.com:8228; got ` +
        JSON.stringify(withoutUserInfo(url)),
    );
  }
  if (parsed.username || parsed.password) {
    throw new ToolError(
      `${ENV.anchoreUrl} must not contain credentials; use ${ENV.anchoreUser} and ${ENV.anchorePassword}`,
    );
  }
  const suffix = /\/(v1|v2)\/?$/.exec(parsed.pathname);
  const rootUrl = `${parsed.origin}${parsed.pathname.replace(/\/(v1|v2)\/?$/, '').replace(/\/+$/, '')}`;
  const resolvedApi = api === 'auto' && suffix?.[1] ? (suffix[1] as AnchoreApiVersion) : api;
  return {
    connection: {
      rootUrl,
      user: required(env, ENV.anchoreUser, 'the Anchore user name'),
      password: required(env, ENV.anchorePassword, 'the Anchore password'),
    },
    api: resolvedApi,
  };
}
