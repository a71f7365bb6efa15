// @ts-check
// One Lambda execution environment: loads the handler once (the init phase), then runs the invocations the parent
// sends over IPC, one at a time. Plain CommonJS with no loader, so the packaged code runs as Lambda's Node.js runtime
// runs it. Messages: parent -> {type:'invoke', requestId, event, context}; child -> {type:'ready'|'init-error'|'result'}.
'use strict';

const path = require('node:path');
const { pathToFileURL } = require('node:url');
const { existsSync } = require('node:fs');
const { format } = require('node:util');

const taskRoot = process.env.LAMBDA_TASK_ROOT || process.cwd();
const handlerSetting = process.env._HANDLER || '';

// Lambda resolves packages from the task root only (and its layers, which the local stack has none of). Code
// extracted inside the project would otherwise find the project's node_modules, so a zip that lacks a package, or
// carries sharp for another CPU, would work locally and fail on Lambda.
const Module = /** @type {{_nodeModulePaths: (from: string) => string[], globalPaths: string[]}} */ (
  /** @type {unknown} */ (require('node:module'))
);
const nodeModulePaths = Module._nodeModulePaths;
const taskRootPrefix = taskRoot.endsWith(path.sep) ? taskRoot : taskRoot + path.sep;
Module._nodeModulePaths = (from) =>
  nodeModulePaths(from).filter((folder) => folder.startsWith(taskRootPrefix));
Module.globalPaths.length = 0;

/** @type {string | undefined} */
let currentRequestId;

/** @param {unknown} error */
function toErrorPayload(error) {
  if (error instanceof Error) {
    return {
      errorType: error.name || 'Error',
      errorMessage: error.message,
      stackTrace: (error.stack || '')
        .split('\n')
        .slice(1)
        .map((line) => line.trim()),
    };
  }
  return { errorType: typeof error, errorMessage: String(error), stackTrace: [] };
}

/** @param {Record<string, unknown>} message */
function send(message) {
  // Peak resident memory of this environment so far, like the Max Memory Used of Lambda's REPORT line.
  const maxMemoryUsedMb = Math.ceil(process.resourceUsage().maxRSS / 1024);
  if (process.send) process.send({ ...message, maxMemoryUsedMb });
}

// Lambda's runtime prefixes console output with the time, request id and level (the text log format).
for (const [method, level] of [
  ['log', 'INFO'],
  ['info', 'INFO'],
  ['warn', 'WARN'],
  ['error', 'ERROR'],
  ['debug', 'DEBUG'],
  ['trace', 'TRACE'],
]) {
  const stream = level === 'ERROR' || level === 'WARN' ? process.stderr : process.stdout;
  /** @type {Record<string, unknown>} */ (/** @type {unknown} */ (console))[method] = (
    /** @type {unknown[]} */ ...args
  ) => {
    const text = format(...args).replace(/\n/g, '\r');
    stream.write(`${new Date().toISOString()}\t${currentRequestId || 'undefined'}\t${level}\t${text}\n`);
  };
}

async function loadHandler() {
  const separator = handlerSetting.lastIndexOf('.');
  if (separator <= 0) {
    throw Object.assign(new Error(`Bad handler "${handlerSetting}": expected MODULE.FUNCTION`), {
      name: 'Runtime.MalformedHandlerName',
    });
  }
  const modulePath = path.resolve(taskRoot, handlerSetting.slice(0, separator));
  const exportName = handlerSetting.slice(separator + 1);

  const candidates = ['.js', '.mjs', '.cjs'].map((extension) => modulePath + extension);
  const file = candidates.find((candidate) => existsSync(candidate));
  if (file === undefined) {
    throw Object.assign(
      new Error(`Cannot find module ${modulePath} (.js, .mjs or .cjs) for handler ${handlerSetting}`),
      {
        name: 'Runtime.ImportModuleError',
      },
    );
  }

  /** @type {Record<string, unknown>} */
  let loaded;
  if (file.endsWith('.mjs')) {
    loaded = await import(pathToFileURL(file).href);
  } else {
    try {
      loaded = require(file);
    } catch (error) {
      if (/** @type {{code?: string}} */ (error).code !== 'ERR_REQUIRE_ESM') throw error;
      loaded = await import(pathToFileURL(file).href);
    }
  }

  const handler = loaded[exportName];
  if (typeof handler !== 'function') {
    throw Object.assign(new Error(`${file} does not export a function named "${exportName}"`), {
      name: 'Runtime.HandlerNotFound',
    });
  }
  return /** @type {(event: unknown, context: unknown, callback?: Function) => unknown} */ (handler);
}

/**
 * @param {(event: unknown, context: unknown, callback?: Function) => unknown} handler
 * @param {{requestId: string, event: unknown, context: Record<string, unknown>, deadlineMs: number}} message
 */
function runHandler(handler, message) {
  const context = {
    ...message.context,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, message.deadlineMs - Date.now()),
  };
  return new Promise((resolve, reject) => {
    /** @param {unknown} error @param {unknown} value */
    const callback = (error, value) => (error ? reject(error) : resolve(value));
    const returned = handler(message.event, context, callback);
    if (returned && typeof (/** @type {Promise<unknown>} */ (returned).then) === 'function') {
      /** @type {Promise<unknown>} */ (returned).then(resolve, reject);
    } else if (handler.length < 3) {
      resolve(returned);
    }
  });
}

/** @param {string} errorType @param {unknown} error */
function failCurrentInvocation(errorType, error) {
  const payload = toErrorPayload(error);
  send({ type: 'result', requestId: currentRequestId, ok: false, error: { ...payload, errorType } });
  // Lambda discards an environment after an unhandled error; exiting lets the parent start a fresh one.
  setImmediate(() => process.exit(1));
}

process.on('uncaughtException', (error) => failCurrentInvocation('Runtime.UncaughtException', error));
process.on('unhandledRejection', (reason) =>
  failCurrentInvocation('Runtime.UnhandledPromiseRejection', reason),
);
process.on('disconnect', () => process.exit(0));

loadHandler().then(
  (handler) => {
    process.on('message', async (/** @type {any} */ message) => {
      if (message?.type !== 'invoke') return;
      currentRequestId = message.requestId;
      try {
        const value = await runHandler(handler, message);
        send({
          type: 'result',
          requestId: message.requestId,
          ok: true,
          value: value === undefined ? null : value,
        });
      } catch (error) {
        send({ type: 'result', requestId: message.requestId, ok: false, error: toErrorPayload(error) });
      } finally {
        currentRequestId = undefined;
      }
    });
    send({ type: 'ready' });
  },
  (error) => {
    send({ type: 'init-error', error: toErrorPayload(error) });
    setImmediate(() => process.exit(1));
  },
);
