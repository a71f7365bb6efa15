// Fake Lambda handlers for the local stack's tests. Each appends what it saw as one JSON line to the file named
// by RECORD_FILE, so a test can check the event, the context and the environment that reached the function.

const { appendFileSync } = require('node:fs');

function record(name, event, context) {
  const entry = {
    handler: name,
    pid: process.pid,
    event,
    context: {
      awsRequestId: context.awsRequestId,
      functionName: context.functionName,
      functionVersion: context.functionVersion,
      invokedFunctionArn: context.invokedFunctionArn,
      memoryLimitInMB: context.memoryLimitInMB,
      logGroupName: context.logGroupName,
      logStreamName: context.logStreamName,
      remainingTimeInMillis: context.getRemainingTimeInMillis(),
      callbackWaitsForEmptyEventLoop: context.callbackWaitsForEmptyEventLoop,
    },
    env: { ...process.env },
  };
  appendFileSync(process.env.RECORD_FILE, `${JSON.stringify(entry)}\n`);
}

/** Records the invocation and returns. */
exports.echo = async (event, context) => {
  record('echo', event, context);
  return { ok: true };
};

/** Records the invocation, then waits `event.waitMs` milliseconds. */
exports.wait = async (event, context) => {
  record('wait', event, context);
  await new Promise((resolve) => setTimeout(resolve, event.waitMs));
  return { waited: event.waitMs };
};

/** Records the invocation and throws. */
exports.fail = async (event, context) => {
  record('fail', event, context);
  throw new TypeError('fake failure');
};

/** Records the invocation and ends the process. */
exports.crash = async (event, context) => {
  record('crash', event, context);
  process.exit(3);
};

/** Callback-style handler, as older Lambda code writes them. */
exports.callback = (event, context, callback) => {
  record('callback', event, context);
  setTimeout(() => callback(null, { viaCallback: true }), 5);
};
