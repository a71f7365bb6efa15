#!/usr/bin/env node

// Puts sharp's packages for Lambda's architectures into npm's cache, so `sls package` can run offline later.
// Needs the npm registry once per sharp version. Usage: node scripts/cache-sharp-packages.js [arm64] [x86_64]
// (both when no architecture is named).

const path = require('node:path');
const { ensureSharpCached, lambdaPlatform, platformLabel } = require('./serverless/sharp-packages');

const projectDir = path.resolve(__dirname, '..');
const architectures = process.argv.slice(2);

try {
  for (const architecture of architectures.length > 0 ? architectures : ['arm64', 'x86_64']) {
    const platform = lambdaPlatform(architecture);
    const { fetched, specs } = ensureSharpCached(projectDir, platform, (message) => console.log(message));
    const state = fetched ? 'now cached' : 'already cached';
    console.log(
      `sharp for Lambda ${architecture} (${platformLabel(platform)}): ${state}: ${specs.join(', ')}`,
    );
  }
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
}
