/**
 * Child process of `npm run bench`: generates the inputs (bench/inputs.ts) and prints their description as JSON.
 * Generating the 100 MP images allocates about a gigabyte, and a child keeps that heap out of the process that
 * times the in-process thumbnail contenders.
 *
 * Usage: node --import tsx bench/generate-inputs.ts full|quick MAX_INPUT_PIXELS MAX_INPUT_BYTES
 */
import { prepareInputs } from './inputs';

async function main(): Promise<void> {
  const [mode, maxInputPixels, maxInputBytes] = process.argv.slice(2);
  if ((mode !== 'full' && mode !== 'quick') || maxInputPixels === undefined || maxInputBytes === undefined) {
    throw new Error(
      `Invalid arguments "${process.argv.slice(2).join(' ')}": expected full|quick PIXELS BYTES`,
    );
  }
  const { dispose: _dispose, ...inputs } = await prepareInputs(
    mode === 'quick',
    Number(maxInputPixels),
    Number(maxInputBytes),
  );
  process.stdout.write(JSON.stringify(inputs));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
