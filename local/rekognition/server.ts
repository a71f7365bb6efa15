import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { S3Client } from '@aws-sdk/client-s3';
import { type DetectObjects, handleDetectLabels } from './detect-labels';
import { DEFAULT_LABEL_WORKERS, LabelModelPool } from './label-model-pool';
import { describeRequestImage, type RequestImage } from './request-image';
import { RekognitionServiceError } from './service-error';

export interface LocalRekognitionOptions {
  /** Port on 127.0.0.1; 0 (the default) picks any free port. */
  port?: number;
  /** The local S3 endpoint that `Image.S3Object` is read from. */
  s3: { endpoint: string; region: string; credentials: { accessKeyId: string; secretAccessKey: string } };
  /** Receives one line per request, and one when a label worker stops or restarts; defaults to standard output. */
  log?: (line: string) => void;
  /** Worker threads that run the label model, each with its own copy; defaults to DEFAULT_LABEL_WORKERS (1). */
  labelWorkers?: number;
}

export interface LocalRekognition {
  /** Base URL for AWS_ENDPOINT_URL_REKOGNITION, such as http://127.0.0.1:40123. */
  url: string;
  /** The worker threads that run the label model; tests use it to inject a worker crash. */
  labelModel: LabelModelPool;
  /** Stops the HTTP server and terminates the label workers. */
  close(): Promise<void>;
}

// Rekognition's JSON protocol (awsJson1_1): every operation is a POST to "/" named by this header prefix.
const TARGET_PREFIX = 'RekognitionService.';
const JSON_CONTENT_TYPE = 'application/x-amz-json-1.1';
// 5 MB of image bytes is about 6.7 MB as base64; the rest of a DetectLabels body is small.
const MAX_BODY_BYTES = 8 * 1024 * 1024;

/**
 * Starts a Rekognition endpoint on 127.0.0.1 that serves DetectLabels with the COCO object detector shipped in
 * @vladmandic/human, so the unchanged AWS SDK client works against it through AWS_ENDPOINT_URL_REKOGNITION.
 * The model runs in worker threads (see LabelModelPool) and is loaded before the endpoint listens; other operations
 * get UnknownOperationException.
 *
 * @throws Error when the model cannot be loaded or the port cannot be bound; no worker is left running then.
 */
export async function startLocalRekognition(options: LocalRekognitionOptions): Promise<LocalRekognition> {
  const log = options.log ?? ((line: string) => console.log(line));
  const labelModel = await LabelModelPool.start({
    workers: options.labelWorkers ?? DEFAULT_LABEL_WORKERS,
    log,
  });
  const detectObjects: DetectObjects = (image) => labelModel.detect(image);

  const s3 = new S3Client({
    endpoint: options.s3.endpoint,
    region: options.s3.region,
    credentials: options.s3.credentials,
    forcePathStyle: true,
  });

  const server = createServer((request, response) => {
    void serveRequest(request, response, s3, detectObjects, log);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    // A running worker would keep the process alive after a failed start.
    await labelModel.close();
    s3.destroy();
    throw error;
  }

  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    labelModel,
    close: async () => {
      server.closeAllConnections();
      try {
        await new Promise<void>((resolve, reject) =>
          server.close((error) => (error ? reject(error) : resolve())),
        );
      } finally {
        await labelModel.close();
        s3.destroy();
      }
    },
  };
}

async function serveRequest(
  request: IncomingMessage,
  response: ServerResponse,
  s3: S3Client,
  detectObjects: DetectObjects,
  log: (line: string) => void,
): Promise<void> {
  const started = performance.now();
  const requestId = randomUUID();
  const target = request.headers['x-amz-target'];
  const operation =
    typeof target === 'string' && target.startsWith(TARGET_PREFIX)
      ? target.slice(TARGET_PREFIX.length)
      : String(target);
  let status = 200;
  let outcome = '';

  try {
    const body = await readJsonBody(request);
    if (request.method !== 'POST' || operation !== 'DetectLabels') {
      throw new RekognitionServiceError(
        'UnknownOperationException',
        `The local Rekognition endpoint implements only POST / with X-Amz-Target ${TARGET_PREFIX}DetectLabels, ` +
          `got ${request.method} with X-Amz-Target ${String(target)}.`,
      );
    }
    const image = (body as { Image?: RequestImage } | null)?.Image;
    outcome = image === undefined ? '' : describeRequestImage(image);

    const result = await handleDetectLabels(body, s3, detectObjects);
    outcome = `${outcome}: ${result.Labels.map((label) => `${label.Name} ${label.Confidence.toFixed(0)}`).join(', ')}`;
    sendJson(response, 200, requestId, result);
  } catch (error) {
    const serviceError =
      error instanceof RekognitionServiceError
        ? error
        : new RekognitionServiceError(
            'InternalServerError',
            `The local Rekognition endpoint failed: ${String(error)}`,
            {
              cause: error,
            },
          );
    status = serviceError.statusCode;
    outcome = `${outcome} ${serviceError.code}: ${serviceError.message}`.trim();
    sendJson(response, status, requestId, serviceError.toBody(), serviceError.code);
  } finally {
    const elapsed = Math.round(performance.now() - started);
    log(`rekognition ${operation} ${status} ${elapsed} ms ${outcome}`);
  }
}

async function readJsonBody(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    length += buffer.length;
    if (length > MAX_BODY_BYTES) {
      throw new RekognitionServiceError(
        'ImageTooLargeException',
        `The request body is over ${MAX_BODY_BYTES} bytes; Image.Bytes may be at most 5 MB.`,
      );
    }
    chunks.push(buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new RekognitionServiceError('SerializationException', 'The request body is not valid JSON.', {
      cause: error,
    });
  }
}

function sendJson(
  response: ServerResponse,
  status: number,
  requestId: string,
  body: unknown,
  errorType?: string,
): void {
  const payload = JSON.stringify(body);
  const headers: Record<string, string | number> = {
    'content-type': JSON_CONTENT_TYPE,
    'content-length': Buffer.byteLength(payload),
    'x-amzn-requestid': requestId,
  };
  if (errorType !== undefined) headers['x-amzn-errortype'] = errorType;
  response.writeHead(status, headers);
  response.end(payload);
}
