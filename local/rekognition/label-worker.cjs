// Loads label-worker.ts in a worker thread. On Node.js 20.20 a worker cannot start from a .ts file even with
// `--import tsx` in its execArgv ("Unknown file extension .ts"), and Jest's transform does not reach worker threads.
// So this CommonJS entry compiles the worker and its imports with tsx's require API, under any parent loader.
const { require: tsxRequire } = require('tsx/cjs/api');

tsxRequire('./label-worker.ts', __filename);
