import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * Jest global setup: says once, at the top of the run, whether the extended image corpus is there, because jest's
 * default output counts skipped tests without saying why.
 */
export default function reportCorpus(): void {
  const corpus = path.resolve(__dirname, '..', '..', '..', 'shared', 'images');
  if (existsSync(corpus)) {
    console.log(`\nextended image corpus: ${corpus}`);
  } else {
    console.log(
      `\nextended image corpus not found at ${corpus}: the tests that need it are reported as skipped; ` +
        'the core tests use test/fixtures/',
    );
  }
}
