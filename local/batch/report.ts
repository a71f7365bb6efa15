import type { ImageProgress, StageState } from './image-results';

/** One image in the final report; `--json` prints an array of these. */
export interface ImageReport {
  key: string;
  status: 'done' | 'failed';
  labels: { name: string; confidence: number }[];
  /** Path of the downloaded thumbnail, relative to the working folder; null when there is none. */
  thumbnail: string | null;
  width: number | null;
  height: number | null;
  /** Reason the image failed or timed out; null when done. */
  error: string | null;
  /** True when no result arrived in time (status is then `failed`). */
  timedOut: boolean;
}

function stageError(name: string, stage: StageState): string | undefined {
  if (stage.state === 'failed') return `${name}: ${stage.error}`;
  if (stage.state === 'pending') return `${name}: no result`;
  return undefined;
}

/** Returns the part of a recorded failure after `Cannot ... "KEY": `, which both functions write the same way. */
function reasonOf(key: string, message: string): string {
  const marker = `"${key}": `;
  const at = message.indexOf(marker);
  return at === -1 ? message : message.slice(at + marker.length);
}

/** Lists one line per failed stage, or one line for both when they failed for the same reason. */
function stageErrors(progress: ImageProgress): string[] {
  const { thumbnail, labels } = progress;
  if (
    thumbnail.state === 'failed' &&
    labels.state === 'failed' &&
    reasonOf(progress.key, thumbnail.error) === reasonOf(progress.key, labels.error)
  ) {
    return [`thumbnail and labels: ${reasonOf(progress.key, thumbnail.error)}`];
  }
  return [stageError('thumbnail', thumbnail), stageError('labels', labels)].filter(
    (error): error is string => error !== undefined,
  );
}

/** Builds the report entry of an image; `timeoutMessage` is set when waiting for it gave up. */
export function toImageReport(
  progress: ImageProgress,
  thumbnailPath: string | null,
  timeoutMessage?: string,
): ImageReport {
  const errors = stageErrors(progress);
  if (timeoutMessage !== undefined) errors.unshift(timeoutMessage);
  const done = errors.length === 0;
  return {
    key: progress.key,
    status: done ? 'done' : 'failed',
    labels: progress.labelList.map((label) => ({
      name: label.name,
      confidence: Math.round(label.confidence * 10) / 10,
    })),
    thumbnail: thumbnailPath,
    width: progress.thumbnailInfo?.width ?? null,
    height: progress.thumbnailInfo?.height ?? null,
    error: done ? null : errors.join('; '),
    timedOut: timeoutMessage !== undefined,
  };
}

/** `Dog 87.1%, Person 66.0%`, or `(no labels)`. */
export function formatLabels(labels: ImageReport['labels']): string {
  if (labels.length === 0) return '(no labels)';
  return labels.map((label) => `${label.name} ${label.confidence.toFixed(1)}%`).join(', ');
}

/** The report as aligned text rows: key, thumbnail (path and size), then labels or the failure reason. */
export function formatReportTable(reports: ImageReport[]): string {
  const rows = reports.map((report) => {
    const thumbnail =
      report.thumbnail === null ? '-' : `${report.thumbnail} (${report.width}x${report.height})`;
    const result = report.status === 'done' ? formatLabels(report.labels) : `FAILED ${report.error}`;
    return [report.key, thumbnail, result];
  });
  const header = ['IMAGE', 'THUMBNAIL', 'LABELS OR FAILURE'];
  const widths = [0, 1].map((column) =>
    Math.max(header[column]?.length ?? 0, ...rows.map((row) => row[column]?.length ?? 0)),
  );
  const line = (row: string[]) =>
    row
      .map((cell, column) => (column < 2 ? cell.padEnd(widths[column] ?? 0) : cell))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** One line that sums up a finished run. */
export function formatSummary(reports: ImageReport[], seconds: number): string {
  const done = reports.filter((report) => report.status === 'done').length;
  const timedOut = reports.filter((report) => report.timedOut).length;
  const failed = reports.length - done - timedOut;
  const parts = [`${done} done`, `${failed} failed`];
  if (timedOut > 0) parts.push(`${timedOut} timed out`);
  return `${reports.length} image(s) in ${seconds.toFixed(1)} s: ${parts.join(', ')}`;
}
