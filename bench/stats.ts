/** Summary statistics and the interleaved run order shared by every benchmark section. */

/** Median, min and max of repeated measurements. */
export interface Summary {
  median: number;
  min: number;
  max: number;
  count: number;
}

/** Summarises repeated measurements. The median of an even count is the mean of the two middle values. */
export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) throw new Error('Cannot summarise an empty list of measurements');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median =
    sorted.length % 2 === 1
      ? (sorted[middle] as number)
      : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
  return { median, min: sorted[0] as number, max: sorted[sorted.length - 1] as number, count: sorted.length };
}

/**
 * Divides two series measured in the same rounds, round by round, so that drift on a shared machine (another job
 * starting, CPU frequency) cancels out of each ratio instead of skewing one contender.
 */
export function pairwiseRatios(numerators: readonly number[], denominators: readonly number[]): number[] {
  if (numerators.length !== denominators.length) {
    throw new Error(`Cannot pair ${numerators.length} measurements with ${denominators.length}`);
  }
  return numerators.map((value, index) => value / (denominators[index] as number));
}

/**
 * Runs each task once per round, in an order that rotates by one each round (A B C, B C A, C A B ...), so that no
 * contender always runs first or always right after another. Returns the measurements per task, in round order.
 */
export async function runInterleaved<Task, Result>(
  tasks: readonly Task[],
  rounds: number,
  run: (task: Task, round: number) => Promise<Result>,
): Promise<Map<Task, Result[]>> {
  const results = new Map<Task, Result[]>(tasks.map((task) => [task, []]));
  for (let round = 0; round < rounds; round++) {
    for (let position = 0; position < tasks.length; position++) {
      const task = tasks[(round + position) % tasks.length] as Task;
      results.get(task)?.push(await run(task, round));
    }
  }
  return results;
}

/** Formats milliseconds with a precision that suits their size. */
export function formatMs(value: number): string {
  if (value >= 100) return `${value.toFixed(0)} ms`;
  if (value >= 10) return `${value.toFixed(1)} ms`;
  return `${value.toFixed(2)} ms`;
}

/** Formats a summary as "median (min to max)", each through `format`. */
export function formatSummary(summary: Summary, format: (value: number) => string = formatMs): string {
  if (summary.count === 1) return format(summary.median);
  return `${format(summary.median)} (${format(summary.min)} to ${format(summary.max)})`;
}

export function formatRatio(value: number): string {
  return `${value >= 10 ? value.toFixed(0) : value.toFixed(2)}x`;
}

export function formatMiB(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

export function formatKiB(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}
