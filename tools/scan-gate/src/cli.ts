import { systemClock } from './clock';
import { runCli } from './run';

// Entry point of `npm run scan-gate -- ...`: all logic lives in run.ts so that tests can call it in-process.
runCli(process.argv.slice(2), {
  env: process.env,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  clock: systemClock,
  cwd: process.cwd(),
}).then(({ exitCode }) => {
  process.exitCode = exitCode;
});
