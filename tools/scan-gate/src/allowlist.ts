import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ToolError } from './errors';
import type { Finding } from './types';

/** One accepted vulnerability: it no longer fails the gate until its expiry date has passed. */
export interface AllowlistEntry {
  /** Vulnerability id exactly as the scanner reports it, such as CVE-2024-12345 or GHSA-xxxx-xxxx-xxxx. */
  id: string;
  /** Reason the risk is accepted, shown in every report. */
  reason: string;
  /** Last day (UTC, YYYY-MM-DD) on which the entry applies. */
  expires: string;
  /** Package name the entry is limited to; without it the entry covers the id in every package. */
  package?: string;
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

function isCalendarDate(text: string): boolean {
  const match = DATE.exec(text);
  if (!match) return false;
  const date = new Date(`${text}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(text);
}

/** YAML turns an unquoted 2026-01-31 into a Date; accept that as the same calendar day. */
function dateText(value: unknown): string | undefined {
  if (value instanceof Date && !Number.isNaN(value.getTime())) return value.toISOString().slice(0, 10);
  return typeof value === 'string' ? value.trim() : undefined;
}

/**
 * Validates allowlist content: either `{ entries: [...] }` or a bare list of entries.
 *
 * @throws ToolError naming the file, the entry and the field at fault.
 */
export function parseAllowlist(content: unknown, source: string): AllowlistEntry[] {
  const list = Array.isArray(content)
    ? content
    : content && typeof content === 'object'
      ? (content as { entries?: unknown }).entries
      : undefined;
  if (!Array.isArray(list)) {
    throw new ToolError(`${source}: expected a list of entries or an object with an "entries" list`);
  }
  return list.map((raw, index) => {
    const where = `${source}: entry ${index + 1}`;
    if (!raw || typeof raw !== 'object') throw new ToolError(`${where} is not an object`);
    const item = raw as Record<string, unknown>;
    const id = typeof item.id === 'string' ? item.id.trim() : '';
    const reason = typeof item.reason === 'string' ? item.reason.trim() : '';
    const expires = dateText(item.expires);
    if (!id) throw new ToolError(`${where} has no "id" (the vulnerability id, such as CVE-2024-12345)`);
    if (!reason) throw new ToolError(`${where} (${id}) has no "reason"; say why the risk is accepted`);
    if (!expires || !isCalendarDate(expires)) {
      throw new ToolError(
        `${where} (${id}) needs "expires" as a date YYYY-MM-DD, got ${JSON.stringify(item.expires)}`,
      );
    }
    if (item.package !== undefined && typeof item.package !== 'string') {
      throw new ToolError(`${where} (${id}) has a "package" that is not a string`);
    }
    return { id, reason, expires, ...(typeof item.package === 'string' ? { package: item.package } : {}) };
  });
}

/** Reads an allowlist file (.json, .yaml or .yml). */
export async function loadAllowlist(file: string): Promise<AllowlistEntry[]> {
  const text = await readFile(file, 'utf8').catch((error: Error) => {
    throw new ToolError(`cannot read the allowlist ${file}: ${error.message}`, { cause: error });
  });
  let content: unknown;
  try {
    content = path.extname(file).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new ToolError(
      `the allowlist ${file} is not valid ${path.extname(file) || 'YAML'}: ${(error as Error).message}`,
    );
  }
  return parseAllowlist(content, file);
}

/** Returns whether an entry has expired, given that it applies through the whole of its `expires` day (UTC). */
export function isExpired(entry: AllowlistEntry, now: Date): boolean {
  return now.toISOString().slice(0, 10) > entry.expires;
}

/** Returns the entry that covers a finding, if any. */
export function matchAllowlist(
  finding: Finding,
  entries: readonly AllowlistEntry[],
): AllowlistEntry | undefined {
  return entries.find(
    (entry) =>
      entry.id.toLowerCase() === finding.id.toLowerCase() &&
      (entry.package === undefined || entry.package === finding.packageName),
  );
}
