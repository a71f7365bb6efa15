import type { Clock } from '../clock';
import { ToolError } from '../errors';
import type { PolicyResult } from '../types';
import type { AnchoreApi } from './api';

/** Budget for waiting on an analysis. */
export interface PollOptions {
  /** Maximum number of status reads. */
  maxAttempts: number;
  /** Delay between the first two reads. */
  intervalMs: number;
  /** Factor applied to the delay after each read (1 keeps it fixed). */
  backoff: number;
  /** Upper bound of one delay. */
  maxIntervalMs: number;
  /** Overall limit from the first read. */
  timeoutMs: number;
  /** Fail when the status has not changed for this long (0 disables the check). */
  stuckAfterMs: number;
}

/** Defaults: 100 reads 5 s apart (the original pipeline task's budget), at most 15 minutes, stuck after 5. */
export const DEFAULT_POLL: PollOptions = {
  maxAttempts: 100,
  intervalMs: 5000,
  backoff: 1,
  maxIntervalMs: 60_000,
  timeoutMs: 900_000,
  stuckAfterMs: 300_000,
};

/** Analysis statuses of AnchoreImage.analysis_status; any other value is treated as still pending. */
const ANALYZED = 'analyzed';
const FAILED = 'analysis_failed';

/** Outcome of a completed wait. */
export interface AnalysisOutcome {
  policy: PolicyResult;
  attempts: number;
}

function seconds(ms: number): string {
  return `${Math.round(ms / 1000)} s`;
}

/**
 * Polls an image until it is analyzed and its policy evaluation is available.
 *
 * Stops at once on `analysis_failed`. Unknown statuses count as pending, and a 404 from the policy check means
 * "not evaluated yet". Fails when the attempts or the time run out, or when the state stays the same for longer
 * than `stuckAfterMs`.
 */
export async function waitForPolicyEvaluation(
  api: AnchoreApi,
  image: { imageDigest: string; tag: string; policyId?: string },
  options: PollOptions,
  clock: Clock,
  log: (message: string) => void = () => {},
): Promise<AnalysisOutcome> {
  const start = clock.now();
  let lastState: string | undefined;
  let lastChange = start;

  for (let attempt = 1; ; attempt += 1) {
    const record = await api.getImage(image.imageDigest);
    const status = record.analysisStatus;
    if (status === FAILED) {
      throw new ToolError(
        `analysis of ${image.tag} (${image.imageDigest}) failed: analysis_status is ${FAILED}. The analyzer could ` +
          'not pull or unpack the image; check the registry credentials on the server (register-registry) and ' +
          'the analyzer logs.',
      );
    }

    let state = status;
    if (status === ANALYZED) {
      const check = await api.checkPolicy(image.imageDigest, image.tag, image.policyId);
      if (check.kind === 'ready') return { policy: check.result, attempts: attempt };
      state = 'analyzed, policy evaluation not available yet';
    }

    const now = clock.now();
    if (state !== lastState) {
      log(
        `${image.tag}: ${state} (attempt ${attempt} of ${options.maxAttempts}, ${seconds(now - start)} elapsed)`,
      );
      lastState = state;
      lastChange = now;
    }

    if (options.stuckAfterMs > 0 && now - lastChange >= options.stuckAfterMs) {
      throw new ToolError(
        `analysis of ${image.tag} (${image.imageDigest}) looks stuck: the state has been "${state}" for ` +
          `${seconds(now - lastChange)} (limit ${seconds(options.stuckAfterMs)}, --stuck-after). Check the ` +
          "server's analyzer and policy engine services (anchorectl system status) and their queue.",
      );
    }
    if (attempt >= options.maxAttempts) {
      throw new ToolError(
        `analysis of ${image.tag} (${image.imageDigest}) did not finish within ${options.maxAttempts} attempts ` +
          `(${seconds(now - start)}); last state "${state}". Raise --max-attempts or --interval for large images.`,
      );
    }

    const delay = Math.min(options.intervalMs * options.backoff ** (attempt - 1), options.maxIntervalMs);
    if (now + delay - start > options.timeoutMs) {
      throw new ToolError(
        `analysis of ${image.tag} (${image.imageDigest}) timed out after ${seconds(now - start)} ` +
          `(limit ${seconds(options.timeoutMs)}, --timeout); last state "${state}".`,
      );
    }
    await clock.sleep(delay);
  }
}
