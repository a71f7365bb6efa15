import path from 'node:path';
import { build } from 'esbuild';

/**
 * Bundles the task into one CommonJS file for the agent's Node 20 handler. azure-pipelines-task-lib stays
 * external: it loads resource files next to its own modules, so the task package ships it in node_modules.
 */
export async function buildTask(outFile = path.join(__dirname, 'dist', 'index.js')): Promise<string> {
  await build({
    entryPoints: [path.join(__dirname, 'src', 'main.ts')],
    outfile: outFile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    external: ['azure-pipelines-task-lib', 'azure-pipelines-task-lib/*'],
    logLevel: 'warning',
  });
  return outFile;
}

if (require.main === module) {
  buildTask().then((file) => process.stdout.write(`built ${file}\n`));
}
