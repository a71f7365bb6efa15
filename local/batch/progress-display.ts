import type { ImageProgress } from './image-results';

const STAGE_MARK = { pending: '…', done: 'ok', failed: 'failed' } as const;

/**
 * Shows how far a run is. On a terminal it rewrites one status line; otherwise (or with --json) it prints a plain
 * line per finished image to the given stream, so logs and pipes stay readable.
 */
export class ProgressDisplay {
  private lastLine = '';
  private readonly reported = new Set<string>();

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly interactive: boolean,
  ) {}

  /** Prints a message above the status line. */
  message(text: string): void {
    this.clear();
    this.stream.write(`${text}\n`);
    this.redraw();
  }

  /** Shows upload progress on the status line; plain output stays quiet until images finish. */
  uploading(uploaded: number, total: number): void {
    if (!this.interactive) return;
    this.lastLine = `uploading ${uploaded}/${total}`;
    this.redraw();
  }

  update(progress: ImageProgress[], finished: (image: ImageProgress) => boolean, phase: string): void {
    const done = progress.filter(finished);
    if (!this.interactive) {
      for (const image of done) {
        if (this.reported.has(image.key)) continue;
        this.reported.add(image.key);
        const failed = image.thumbnail.state === 'failed' || image.labels.state === 'failed';
        this.stream.write(`${failed ? 'failed' : 'done  '} ${image.key}\n`);
      }
      return;
    }
    const waiting = progress.find((image) => !finished(image));
    const detail = waiting
      ? ` · ${waiting.key}: thumbnail ${STAGE_MARK[waiting.thumbnail.state]}, labels ${STAGE_MARK[waiting.labels.state]}`
      : '';
    this.lastLine = `${phase} ${done.length}/${progress.length}${detail}`;
    this.redraw();
  }

  private redraw(): void {
    if (!this.interactive || this.lastLine === '') return;
    const width = this.stream.columns ?? 80;
    const line = this.lastLine.length >= width ? `${this.lastLine.slice(0, width - 2)}…` : this.lastLine;
    this.stream.write(`\r\x1b[2K${line}`);
  }

  private clear(): void {
    if (this.interactive && this.lastLine !== '') this.stream.write('\r\x1b[2K');
  }

  /** Removes the status line before the report is printed. */
  finish(): void {
    this.clear();
    this.lastLine = '';
  }
}
