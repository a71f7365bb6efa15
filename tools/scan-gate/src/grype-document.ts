import { ToolError } from './errors';
import { normalizeSeverity } from './severity';
import type { Finding, FixState } from './types';

// Shape of Grype's JSON output (`grype -o json`), as defined by the presenter models in anchore/grype
// (grype/presenter/models/document.go, match.go, vulnerability.go, vulnerability_metadata.go, package.go).
// The gate reads matches[].vulnerability {id, dataSource, severity, urls, description, cvss[].metrics.baseScore,
// fix {versions, state}}, matches[].relatedVulnerabilities[] {description, cvss} and matches[].artifact {name,
// version, type, locations[].path}. Each field is read as unknown and checked for its type.
interface GrypeCvss {
  metrics?: { baseScore?: unknown };
}

interface GrypeDocument {
  matches?: unknown[];
  descriptor?: unknown;
}

/** Scanner name and version from a Grype document's descriptor. */
export interface GrypeDescriptor {
  name: string;
  version?: string;
}

/** Converts Grype's fix state (`fixed`, `not-fixed`, `wont-fix`, `unknown`) to the gate's three states. */
function toFixState(state: string | undefined, versions: string[]): FixState {
  if (state === 'fixed' || (state === undefined && versions.length > 0)) return 'fixed';
  if (state === 'not-fixed' || state === 'wont-fix') return 'not-fixed';
  return 'unknown';
}

function maxBaseScore(cvss: unknown): number | undefined {
  if (!Array.isArray(cvss)) return undefined;
  let max: number | undefined;
  for (const entry of cvss as (GrypeCvss | null)[]) {
    const score = entry?.metrics?.baseScore;
    if (typeof score === 'number' && Number.isFinite(score) && (max === undefined || score > max))
      max = score;
  }
  return max;
}

/** Returns a field when it is a string, and undefined when it is missing or of another type. */
function stringField(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** Returns the strings of a list field without entries of other types, and undefined for a field that is not a list. */
function stringList(value: unknown): string[] | undefined {
  return Array.isArray(value)
    ? value.filter((entry): entry is string => typeof entry === 'string')
    : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Parses the JSON that `grype -o json` prints into findings.
 *
 * @throws ToolError when the text is not a Grype document.
 */
export function parseGrypeDocument(text: string): { findings: Finding[]; descriptor: GrypeDescriptor } {
  let document: GrypeDocument;
  try {
    document = JSON.parse(text) as GrypeDocument;
  } catch (error) {
    throw new ToolError(
      `grype output is not valid JSON (${(error as Error).message}); run grype with -o json`,
      {
        cause: error,
      },
    );
  }
  if (!document || typeof document !== 'object' || !Array.isArray(document.matches)) {
    throw new ToolError('grype output has no "matches" array; is this the JSON output of grype -o json?');
  }

  const findings = document.matches.map((match, index): Finding => {
    if (!isObject(match)) {
      throw new ToolError(
        `grype output match ${index + 1} is not an object; is this the JSON output of grype -o json?`,
      );
    }
    const vulnerability = isObject(match.vulnerability) ? match.vulnerability : {};
    const artifact = isObject(match.artifact) ? match.artifact : {};

    // Grype puts the NVD record of a distro advisory in relatedVulnerabilities; its description and CVSS
    // fill in when the advisory itself has none.
    const related = (Array.isArray(match.relatedVulnerabilities) ? match.relatedVulnerabilities : []).filter(
      isObject,
    );
    const fix = isObject(vulnerability.fix) ? vulnerability.fix : {};
    const fixVersions = stringList(fix.versions) ?? [];
    const description =
      stringField(vulnerability.description) ??
      related.map((r) => stringField(r.description)).find((d) => d !== undefined);
    const cvssScore =
      maxBaseScore(vulnerability.cvss) ??
      maxBaseScore(related.flatMap((r) => (Array.isArray(r.cvss) ? r.cvss : [])));

    const firstLocation = Array.isArray(artifact.locations) ? artifact.locations[0] : undefined;
    const location = isObject(firstLocation) ? stringField(firstLocation.path) : undefined;
    const url = stringField(vulnerability.dataSource) || stringList(vulnerability.urls)?.[0];
    return {
      id: stringField(vulnerability.id) || 'unknown-vulnerability',
      severity: normalizeSeverity(vulnerability.severity),
      packageName: stringField(artifact.name) || 'unknown-package',
      packageVersion: stringField(artifact.version) ?? '',
      packageType: stringField(artifact.type) ?? '',
      fixVersions,
      fixState: toFixState(stringField(fix.state), fixVersions),
      ...(location === undefined ? {} : { location }),
      ...(url ? { url } : {}),
      ...(description === undefined ? {} : { description }),
      ...(cvssScore === undefined ? {} : { cvssScore }),
    };
  });

  const source = isObject(document.descriptor) ? document.descriptor : {};
  const descriptor: GrypeDescriptor = { name: stringField(source.name) || 'grype' };
  const version = stringField(source.version);
  if (version) descriptor.version = version;
  return { findings, descriptor };
}
