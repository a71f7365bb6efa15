/** Lambda's error payload for a failed invocation (the body of an `Unhandled` function error). */
export interface FunctionError {
  errorType: string;
  errorMessage: string;
  stackTrace: string[];
}

export type InvocationResult =
  | { ok: true; requestId: string; value: unknown; durationMs: number }
  | { ok: false; requestId: string; error: FunctionError; durationMs: number };

/** What the local runtime needs to run one function. */
export interface LocalFunctionConfig {
  /** Function name, as in AWS_LAMBDA_FUNCTION_NAME. */
  name: string;
  /** Short name for logs and files (the serverless.yml key). */
  key: string;
  arn: string;
  /** Folder the handler path is relative to (LAMBDA_TASK_ROOT). */
  codeDirectory: string;
  handler: string;
  runtime: string;
  memorySize: number;
  timeoutSeconds: number;
  /** Complete environment of the execution environment, nothing inherited from the parent. */
  environment: Record<string, string>;
}
