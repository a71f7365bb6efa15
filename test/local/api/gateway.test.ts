import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { type LocalApi, MAX_PAYLOAD_BYTES, startLocalApi } from '../../../local/api/gateway';
import { type LocalS3Server, startS3Server } from '../../../local/s3/s3-server';
import { type LocalTable, startLocalTable } from '../../support/dynalite';

const TEMPLATE = path.join(__dirname, 'fixtures', 'api-template.json');
const JPEG = path.join(__dirname, '..', '..', 'fixtures', 'orientation', 'Landscape_1.jpg');
const API_KEY = 'fixture-key-0123456789';
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

let dataDir: string;
let s3: LocalS3Server;
let s3Client: S3Client;
let table: LocalTable;
let api: LocalApi;
const logLines: string[] = [];

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'local-api-'));
  s3 = await startS3Server({
    port: 0,
    directory: dataDir,
    buckets: ['raw-bucket'],
    onObjectChange: () => {},
  });
  s3Client = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials });
  table = await startLocalTable('images-test');
  api = await startLocalApi({
    api: TEMPLATE,
    endpoints: { s3: s3.endpoint, dynamodb: await dynamoEndpoint() },
    region: 'us-east-1',
    credentials,
    log: (line) => logLines.push(line),
  });
});

async function dynamoEndpoint(): Promise<string> {
  const endpoint = await table.client.config.endpoint?.();
  return `http://${endpoint?.hostname}:${endpoint?.port}`;
}

afterAll(async () => {
  await api?.close();
  s3Client?.destroy();
  await table?.close();
  await s3?.close();
  await rm(dataDir, { recursive: true, force: true });
});

function call(pathAndQuery: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${api.url}${pathAndQuery}`, init);
}

describe('startLocalApi routes', () => {
  it('serves the stage in the URL', () => {
    expect(api.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/dev$/);
  });

  it('reports the Lambda proxy method as unsupported', () => {
    expect(api.unsupported.map((method) => `${method.httpMethod} ${method.resourcePath}`)).toEqual([
      'POST /lambda',
    ]);
  });

  it('answers an unknown path with 403', async () => {
    const response = await call('/nothing-here');
    expect(response.status).toBe(403);
    expect(await response.json()).toEqual({ message: 'Missing Authentication Token' });
  });

  it('answers an undefined method with 403', async () => {
    const response = await call('/echo/a', { method: 'DELETE' });
    expect(response.status).toBe(403);
  });

  it('decodes %2F into one path parameter', async () => {
    const response = await call('/echo/a%2Fb%20c.jpg?q=1');
    const body = (await response.json()) as Record<string, unknown>;
    expect(body.key).toBe('a/b c.jpg');
    expect(body.resourcePath).toBe('/echo/{key}');
  });

  it('does not match a slash against one parameter', async () => {
    const response = await call('/echo/a/b');
    expect(response.status).toBe(403);
  });

  it('fills $context and $stageVariables', async () => {
    const body = (await (await call('/echo/x')).json()) as Record<string, unknown>;
    expect(body).toMatchObject({ httpMethod: 'GET', stage: 'dev', sourceIp: '127.0.0.1', color: 'blue' });
  });

  it('logs one line per request', async () => {
    logLines.length = 0;
    await call('/echo/logged');
    expect(logLines).toEqual([expect.stringMatching(/^GET \/dev\/echo\/logged 200 \d+ ms$/)]);
  });
});

describe('startLocalApi request checks', () => {
  it('rejects a missing API key with 403', async () => {
    const response = await call('/images/a.jpg', {
      method: 'PUT',
      body: 'x',
      headers: { 'content-type': 'image/jpeg' },
    });
    expect(response.status).toBe(403);
    expect(await response.json()).toEqual({ message: 'Forbidden' });
  });

  it('rejects a wrong API key with 403', async () => {
    const response = await call('/images/a.jpg', {
      method: 'PUT',
      body: 'x',
      headers: { 'content-type': 'image/jpeg', 'x-api-key': 'wrong' },
    });
    expect(response.status).toBe(403);
  });

  it('lists missing required parameters', async () => {
    const response = await call('/echo');
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      message: 'Missing required request parameters: [limit, X-Trace]',
    });
  });

  it('accepts the required parameters', async () => {
    const response = await call('/echo?limit=5', { headers: { 'X-Trace': 't' } });
    expect(await response.json()).toEqual({ limit: '5' });
  });

  it('rejects an unmapped content type under NEVER with 415', async () => {
    const response = await call('/strict', {
      method: 'POST',
      body: 'name=a',
      headers: { 'content-type': 'text/plain' },
    });
    expect(response.status).toBe(415);
    expect(await response.json()).toEqual({ message: 'Unsupported Media Type' });
  });

  it('renders the template of a mapped content type under NEVER', async () => {
    const response = await call('/strict', {
      method: 'POST',
      body: JSON.stringify({ name: 'Ann' }),
      headers: { 'content-type': 'application/json' },
    });
    expect(await response.json()).toEqual({ accepted: true });
  });

  it('rejects a body over 10 MB with 413', async () => {
    const response = await call('/images/big.jpg', {
      method: 'PUT',
      body: Buffer.alloc(MAX_PAYLOAD_BYTES + 1),
      headers: { 'content-type': 'image/jpeg', 'x-api-key': API_KEY },
    });
    expect(response.status).toBe(413);
  });
});

describe('startLocalApi S3 integration', () => {
  it('stores a JPEG byte for byte', async () => {
    const jpeg = await readFile(JPEG);
    const response = await call('/images/photos%2Flandscape.jpg', {
      method: 'PUT',
      body: jpeg,
      headers: { 'content-type': 'image/jpeg', 'x-api-key': API_KEY },
    });
    expect(response.status).toBe(201);
    expect(await response.json()).toEqual({ key: 'photos/landscape.jpg' });

    const stored = await s3Client.send(
      new GetObjectCommand({ Bucket: 'raw-bucket', Key: 'photos/landscape.jpg' }),
    );
    const bytes = Buffer.from((await stored.Body?.transformToByteArray()) ?? []);
    expect(bytes.length).toBe(jpeg.length);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(
      createHash('sha256').update(jpeg).digest('hex'),
    );
    expect(stored.ContentType).toBe('image/jpeg');
  });

  it('returns a stored image as binary with its Content-Type', async () => {
    const png = await readFile(
      path.join(__dirname, '..', '..', 'fixtures', 'formats', 'png_rgba_cutout.png'),
    );
    await s3Client.send(
      new PutObjectCommand({ Bucket: 'raw-bucket', Key: 'cut out.png', Body: png, ContentType: 'image/png' }),
    );
    const response = await call('/thumbnails/cut%20out.png', { headers: { accept: 'image/png' } });
    const bytes = Buffer.from(await response.arrayBuffer());
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/png');
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(bytes.equals(png)).toBe(true);
  });

  it('maps NoSuchKey to 404', async () => {
    const response = await call('/thumbnails/absent.png', { headers: { accept: 'image/png' } });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ message: 'thumbnail not found' });
  });

  it('maps a 5xx status to 500', async () => {
    const response = await call('/failing');
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ message: 'service unavailable' });
  });

  it('keeps a stored object head intact', async () => {
    const head = await s3Client.send(
      new HeadObjectCommand({ Bucket: 'raw-bucket', Key: 'photos/landscape.jpg' }),
    );
    expect(head.ContentLength).toBe((await readFile(JPEG)).length);
  });
});

describe('startLocalApi DynamoDB integration', () => {
  beforeAll(async () => {
    await table.client.send(
      new PutCommand({ TableName: table.tableName, Item: { Id: "o'neil.jpg", Width: 640 } }),
    );
    await table.client.send(
      new PutCommand({ TableName: table.tableName, Item: { Id: 'b.jpg', Width: 320 } }),
    );
  });

  it('turns Scan items into plain JSON', async () => {
    const body = (await (await call('/images')).json()) as Record<string, unknown>;
    expect(body.count).toBe(2);
    expect(body.images).toEqual(
      expect.arrayContaining([
        { id: "o'neil.jpg", width: 640 },
        { id: 'b.jpg', width: 320 },
      ]),
    );
  });

  it('passes the limit to Scan', async () => {
    const body = (await (await call('/images?limit=1')).json()) as Record<string, unknown>;
    expect(body.images).toHaveLength(1);
  });

  it('maps a DynamoDB 400 through its template', async () => {
    const response = await call('/images?limit=0');
    expect(response.status).toBe(400);
  });

  it('returns one item with GetItem', async () => {
    const response = await call('/images/b.jpg');
    expect(await response.json()).toEqual({ id: 'b.jpg', width: 320 });
  });

  it('answers an absent item with 404', async () => {
    const response = await call('/images/absent.jpg');
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ message: 'image not found' });
  });
});
