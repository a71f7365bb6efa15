import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { closeServer, listenOnLoopback } from '../ports';
import { md5OfBody, md5OfMessageAttributes } from './message-digest';
import { checkQueueSettings, readQueueSettings, validateMessage } from './message-validation';
import { DEFAULT_QUEUE_SETTINGS, LocalQueue, type QueueSettings, type StoredMessage } from './queue-store';
import { invalidParameter, nonExistentQueue, SqsError } from './sqs-error';

export interface SqsServerOptions {
  /** Port on 127.0.0.1; 0 picks a free port. */
  port: number;
  /** Command-line option that sets the port, named in the error when it is taken. */
  portOption?: string;
  region: string;
  accountId: string;
  /** Folder that keeps the queues between runs; in memory when absent. */
  directory?: string;
  /** Queues that exist from the start, such as the template's. */
  queues?: Array<{ name: string; settings?: Partial<QueueSettings> }>;
}

export interface LocalSqsServer {
  endpoint: string;
  /** Creates a queue (or returns the existing one) and returns its URL. */
  createQueue(name: string, settings?: Partial<QueueSettings>): string;
  queueUrl(name: string): string;
  queueArn(name: string): string;
  /** Sends a message without going through HTTP, as a service inside the stack does. Returns the message id. */
  sendMessage(queueName: string, body: string): string;
  close(): Promise<void>;
}

// SQS's limits: a long poll of at most 20 seconds, and at most 10 messages per ReceiveMessage.
const MAX_WAIT_SECONDS = 20;
const MAX_MESSAGES_PER_RECEIVE = 10;
// How often a long poll looks for messages whose visibility timeout ran out.
const LONG_POLL_INTERVAL_MS = 100;

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

function serializationError(message: string): SqsError {
  return new SqsError('SerializationException', 'SerializationException', message);
}

/** Parses a request body as the JSON object every SQS action takes. Invalid UTF-8 is rejected, not replaced. */
function parseInput(bytes: Buffer): Record<string, unknown> {
  if (bytes.length === 0) return {};
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw serializationError('the request body is not valid UTF-8');
  }
  let input: unknown;
  try {
    input = JSON.parse(text);
  } catch {
    throw serializationError('the request body is not valid JSON');
  }
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw serializationError("the request body must be a JSON object with the action's parameters");
  }
  return input as Record<string, unknown>;
}

function integerParameter(value: unknown, name: string, min: number, max: number): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidParameter(`${name} must be an integer from ${min} to ${max}, not ${JSON.stringify(value)}`);
  }
  return value;
}

function requiredString(input: Record<string, unknown>, name: string): string {
  const value = input[name];
  if (typeof value !== 'string' || value === '') {
    throw new SqsError(
      'MissingParameter',
      'MissingParameter',
      `The request must contain the parameter ${name}.`,
    );
  }
  return value;
}

/** True when a name list of ReceiveMessage (`All`, `.*`, a name or a `prefix.*`) selects a name. */
function selects(names: unknown, name: string): boolean {
  if (!Array.isArray(names)) return false;
  return names.some(
    (pattern) =>
      pattern === 'All' ||
      pattern === '.*' ||
      pattern === name ||
      (typeof pattern === 'string' && pattern.endsWith('.*') && name.startsWith(pattern.slice(0, -2))),
  );
}

/**
 * Starts a loopback endpoint that speaks the SQS JSON protocol (AWS JSON 1.0, `X-Amz-Target: AmazonSQS.<Action>`)
 * for the actions the local stack and `npm run redrive` use: SendMessage, ReceiveMessage (with long polling),
 * DeleteMessage, ChangeMessageVisibility, GetQueueUrl, GetQueueAttributes, PurgeQueue, CreateQueue and ListQueues.
 * SendMessage applies SQS's limits on size, characters and message attributes, and CreateQueue the ranges of the
 * attributes it applies. Standard queues only; request signatures are not checked.
 */
export async function startSqsServer(options: SqsServerOptions): Promise<LocalSqsServer> {
  const queues = new Map<string, LocalQueue>();
  const pollTimers = new Set<NodeJS.Timeout>();
  let endpoint = '';
  let closed = false;

  const queueUrl = (name: string) => `${endpoint}/${options.accountId}/${name}`;
  const queueArn = (name: string) => `arn:aws:sqs:${options.region}:${options.accountId}:${name}`;

  const createQueue = (name: string, settings: Partial<QueueSettings> = {}): string => {
    if (!/^[A-Za-z0-9_-]{1,80}$/.test(name)) {
      throw invalidParameter(`queue name ${JSON.stringify(name)} must be 1 to 80 letters, digits, - or _`);
    }
    if (!queues.has(name)) {
      queues.set(
        name,
        LocalQueue.open(
          name,
          { ...DEFAULT_QUEUE_SETTINGS, ...checkQueueSettings(settings) },
          options.directory,
        ),
      );
    }
    return queueUrl(name);
  };

  /** Finds the queue a QueueUrl names; only the last path segment counts, as the host may be any alias. */
  const queueFor = (input: Record<string, unknown>): LocalQueue => {
    const url = requiredString(input, 'QueueUrl');
    const name = url.split('/').filter(Boolean).pop() ?? '';
    const queue = queues.get(name);
    if (queue === undefined) throw nonExistentQueue(url);
    return queue;
  };

  const wait = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        pollTimers.delete(timer);
        resolve();
      }, ms);
      pollTimers.add(timer);
    });

  const renderMessage = (message: StoredMessage, input: Record<string, unknown>) => {
    const systemNames = input.MessageSystemAttributeNames ?? input.AttributeNames;
    const system: Record<string, string> = {
      SenderId: options.accountId,
      SentTimestamp: String(message.sentTimestamp),
      ApproximateReceiveCount: String(message.receiveCount),
      ApproximateFirstReceiveTimestamp: String(message.firstReceiveTimestamp ?? message.sentTimestamp),
    };
    const attributes = Object.fromEntries(
      Object.entries(system).filter(([name]) => selects(systemNames, name)),
    );
    const messageAttributes = Object.fromEntries(
      Object.entries(message.messageAttributes).filter(([name]) =>
        selects(input.MessageAttributeNames, name),
      ),
    );
    const attributesDigest = md5OfMessageAttributes(messageAttributes);
    return {
      MessageId: message.messageId,
      ReceiptHandle: message.receiptHandle,
      MD5OfBody: md5OfBody(message.body),
      Body: message.body,
      ...(Object.keys(attributes).length > 0 ? { Attributes: attributes } : {}),
      ...(attributesDigest !== undefined
        ? { MessageAttributes: messageAttributes, MD5OfMessageAttributes: attributesDigest }
        : {}),
    };
  };

  const actions: Record<string, (input: Record<string, unknown>) => Promise<object> | object> = {
    SendMessage: (input) => {
      const queue = queueFor(input);
      const body = requiredString(input, 'MessageBody');
      const delaySeconds = integerParameter(input.DelaySeconds, 'DelaySeconds', 0, 900) ?? 0;
      const attributes = validateMessage(body, input.MessageAttributes);
      const message = queue.send(body, attributes, delaySeconds);
      const attributesDigest = md5OfMessageAttributes(attributes);
      return {
        MessageId: message.messageId,
        MD5OfMessageBody: md5OfBody(body),
        ...(attributesDigest !== undefined ? { MD5OfMessageAttributes: attributesDigest } : {}),
      };
    },

    ReceiveMessage: async (input) => {
      const queue = queueFor(input);
      const max =
        integerParameter(input.MaxNumberOfMessages, 'MaxNumberOfMessages', 1, MAX_MESSAGES_PER_RECEIVE) ?? 1;
      const visibility =
        integerParameter(input.VisibilityTimeout, 'VisibilityTimeout', 0, 43_200) ??
        queue.settings.visibilityTimeoutSeconds;
      const waitSeconds =
        integerParameter(input.WaitTimeSeconds, 'WaitTimeSeconds', 0, MAX_WAIT_SECONDS) ?? 0;
      const deadline = Date.now() + waitSeconds * 1000;

      let received = queue.receive(max, visibility);
      while (received.length === 0 && Date.now() < deadline && !closed) {
        await wait(Math.min(LONG_POLL_INTERVAL_MS, deadline - Date.now()));
        received = queue.receive(max, visibility);
      }
      return { Messages: received.map((message) => renderMessage(message, input)) };
    },

    DeleteMessage: (input) => {
      const queue = queueFor(input);
      const handle = requiredString(input, 'ReceiptHandle');
      if (!queue.delete(handle)) {
        throw new SqsError(
          'ReceiptHandleIsInvalid',
          'ReceiptHandleIsInvalid',
          `The input receipt handle "${handle}" is not a valid receipt handle.`,
        );
      }
      return {};
    },

    ChangeMessageVisibility: (input) => {
      const queue = queueFor(input);
      const handle = requiredString(input, 'ReceiptHandle');
      const timeout = integerParameter(input.VisibilityTimeout, 'VisibilityTimeout', 0, 43_200) ?? 0;
      if (!queue.changeVisibility(handle, timeout)) {
        throw new SqsError(
          'ReceiptHandleIsInvalid',
          'ReceiptHandleIsInvalid',
          `The input receipt handle "${handle}" is not a valid receipt handle.`,
        );
      }
      return {};
    },

    GetQueueUrl: (input) => {
      const name = requiredString(input, 'QueueName');
      if (!queues.has(name)) throw nonExistentQueue(name);
      return { QueueUrl: queueUrl(name) };
    },

    GetQueueAttributes: (input) => {
      const queue = queueFor(input);
      const counts = queue.counts();
      const all: Record<string, string> = {
        QueueArn: queueArn(queue.name),
        ApproximateNumberOfMessages: String(counts.visible),
        ApproximateNumberOfMessagesNotVisible: String(counts.notVisible),
        ApproximateNumberOfMessagesDelayed: '0',
        VisibilityTimeout: String(queue.settings.visibilityTimeoutSeconds),
        MessageRetentionPeriod: String(queue.settings.messageRetentionSeconds),
        CreatedTimestamp: String(Math.floor(queue.createdTimestamp / 1000)),
        SqsManagedSseEnabled: 'true',
      };
      const names = (input.AttributeNames ?? []) as unknown[];
      return { Attributes: Object.fromEntries(Object.entries(all).filter(([name]) => selects(names, name))) };
    },

    PurgeQueue: (input) => {
      queueFor(input).purge();
      return {};
    },

    CreateQueue: (input) => {
      const settings = readQueueSettings(input.Attributes);
      return { QueueUrl: createQueue(requiredString(input, 'QueueName'), settings) };
    },

    ListQueues: (input) => {
      const prefix = typeof input.QueueNamePrefix === 'string' ? input.QueueNamePrefix : '';
      return { QueueUrls: [...queues.keys()].filter((name) => name.startsWith(prefix)).map(queueUrl) };
    },
  };

  const respond = (
    response: ServerResponse,
    status: number,
    body: object,
    headers: Record<string, string> = {},
  ) => {
    const text = JSON.stringify(body);
    response.writeHead(status, {
      'Content-Type': 'application/x-amz-json-1.0',
      'Content-Length': Buffer.byteLength(text),
      'x-amzn-RequestId': randomUUID(),
      ...headers,
    });
    response.end(text);
  };

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const target = String(request.headers['x-amz-target'] ?? '');
    const action = target.startsWith('AmazonSQS.') ? target.slice('AmazonSQS.'.length) : '';
    try {
      // Own properties only, so a target such as AmazonSQS.constructor names no action.
      const run = Object.hasOwn(actions, action) ? actions[action] : undefined;
      if (request.method !== 'POST' || run === undefined) {
        throw new SqsError(
          'UnsupportedOperation',
          'AWS.SimpleQueueService.UnsupportedOperation',
          `the local SQS endpoint does not support ${JSON.stringify(target || `${request.method} ${request.url}`)}; it supports ${Object.keys(actions).join(', ')}`,
        );
      }
      const input = parseInput(await readBody(request));
      respond(response, 200, await run(input));
    } catch (error) {
      if (error instanceof SqsError) {
        respond(
          response,
          error.status,
          { __type: `com.amazonaws.sqs#${error.type}`, message: error.message },
          { 'x-amzn-query-error': `${error.queryCode};Sender` },
        );
        return;
      }
      respond(response, 500, {
        __type: 'com.amazonaws.sqs#InternalError',
        message: (error as Error).message,
      });
    }
  };

  const server = createServer((request, response) => {
    void handle(request, response);
  });
  const port = await listenOnLoopback(server, options.port, 'SQS', options.portOption);
  endpoint = `http://127.0.0.1:${port}`;
  for (const queue of options.queues ?? []) createQueue(queue.name, queue.settings);

  return {
    endpoint,
    createQueue,
    queueUrl,
    queueArn,
    sendMessage: (queueName, body) => {
      const queue = queues.get(queueName);
      if (queue === undefined) throw nonExistentQueue(queueName);
      // The checks of SendMessage apply, so a message SQS would reject fails here too.
      validateMessage(body, undefined);
      return queue.send(body, {}).messageId;
    },
    close: async () => {
      closed = true;
      for (const timer of pollTimers) clearTimeout(timer);
      pollTimers.clear();
      await closeServer(server);
    },
  };
}
