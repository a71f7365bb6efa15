/**
 * Severities in ascending order. Grype and Anchore both use these names (capitalised); `unknown` is what
 * they report when the vulnerability database has no severity.
 */
export const SEVERITIES = ['unknown', 'negligible', 'low', 'medium', 'high', 'critical'] as const;

/** A vulnerability severity, lower case. */
export type Severity = (typeof SEVERITIES)[number];

/** Severities a threshold may name: `unknown` has no place in an order of risk. */
export const THRESHOLD_SEVERITIES: readonly Severity[] = ['negligible', 'low', 'medium', 'high', 'critical'];

/** Returns the position of a severity in {@link SEVERITIES}; higher is worse. */
export function severityRank(severity: Severity): number {
  return SEVERITIES.indexOf(severity);
}

/** Maps a scanner's severity text (any case) to a {@link Severity}; anything unrecognised is `unknown`. */
export function normalizeSeverity(value: unknown): Severity {
  const text = typeof value === 'string' ? value.trim().toLowerCase() : '';
  return (SEVERITIES as readonly string[]).includes(text) ? (text as Severity) : 'unknown';
}

/** Parses a severity named by a user, or returns undefined when the name is not one. */
export function parseSeverity(value: string): Severity | undefined {
  const text = value.trim().toLowerCase();
  return (SEVERITIES as readonly string[]).includes(text) ? (text as Severity) : undefined;
}
