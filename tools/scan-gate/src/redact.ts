/**
 * Replaces every occurrence of each secret in a text with `***`, so that no message, report or log line can
 * carry a credential even when a server echoes it back.
 */
export function redact(text: string, secrets: readonly (string | undefined)[]): string {
  let result = text;
  for (const secret of secrets) {
    if (secret) result = result.split(secret).join('***');
  }
  return result;
}
