import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';

/**
 * Function output: one append-only file per function under the log folder, and optionally the console with the
 * function's key in front of each line.
 */
export class FunctionLogs {
  private readonly files = new Map<string, WriteStream>();

  constructor(
    private readonly directory: string,
    private readonly toConsole: boolean,
    private readonly writeConsole: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
  ) {
    mkdirSync(directory, { recursive: true });
  }

  filePath(functionKey: string): string {
    return path.join(this.directory, `${functionKey}.log`);
  }

  /** Returns the line sink for one function. */
  sink(functionKey: string): (line: string) => void {
    let file = this.files.get(functionKey);
    if (file === undefined) {
      file = createWriteStream(this.filePath(functionKey), { flags: 'a' });
      this.files.set(functionKey, file);
    }
    const stream = file;
    return (line: string) => {
      stream.write(`${line}\n`);
      if (this.toConsole) this.writeConsole(`[${functionKey}] ${line}`);
    };
  }

  async close(): Promise<void> {
    await Promise.all(
      [...this.files.values()].map((stream) => new Promise<void>((resolve) => stream.end(() => resolve()))),
    );
    this.files.clear();
  }
}
