/**
 * A failure of the tool itself (bad options, scanner missing, server unreachable, analysis failed): exit code 1,
 * as opposed to a gate that ran and rejected the target (exit code 2).
 */
export class ToolError extends Error {
  override name = 'ToolError';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Exit codes of the scan gate. */
export const EXIT_CODES = { pass: 0, toolError: 1, gateFailed: 2 } as const;
