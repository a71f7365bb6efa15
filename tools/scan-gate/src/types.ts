import type { Severity } from './severity';

/** Whether a fix for a finding exists, in the scanner's own terms mapped onto three states. */
export type FixState = 'fixed' | 'not-fixed' | 'unknown';

/** One vulnerability matched against one package, whichever backend found it. */
export interface Finding {
  /** Vulnerability id as the scanner reports it (CVE-…, GHSA-…, RHSA-…). */
  id: string;
  severity: Severity;
  packageName: string;
  packageVersion: string;
  packageType: string;
  /** Versions that fix the vulnerability; empty when none is known. */
  fixVersions: string[];
  fixState: FixState;
  /** File path of the package inside the target, when the scanner reports one. */
  location?: string;
  url?: string;
  description?: string;
  /** Highest CVSS base score the scanner reported, 0 to 10. */
  cvssScore?: number;
}

/** Final action of an Anchore policy evaluation (Anchore's PolicyEvaluationResult.final_action). */
export type PolicyAction = 'go' | 'warn' | 'stop';

/** Policy evaluation of one image on an Anchore server. */
export interface PolicyResult {
  finalAction: PolicyAction;
  policyId?: string;
  /** Gate/trigger messages that led to a warn or stop, when the server returned details. */
  reasons: string[];
}

/** Findings (and, for Anchore, the policy result) of one backend on one target. */
export interface ScanResult {
  backend: 'grype' | 'anchore-v1' | 'anchore-v2';
  /** The target as the user named it (path or image reference). */
  target: string;
  /** Image digest on the Anchore server, for promotion by digest. */
  imageDigest?: string;
  findings: Finding[];
  policy?: PolicyResult;
  /** Scanner name and version, for the reports. */
  scanner: { name: string; version?: string };
}
