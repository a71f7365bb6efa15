import { property } from './cloudformation';
import { compiledPackage, PACKAGE_TIMEOUT_MS, SERVICE_NAME, TEST_STAGE } from './compiled-template';
import { escapeJavaScript, renderMappingTemplate } from './mapping-template-renderer';

type Template = Awaited<ReturnType<typeof compiledPackage>>['template'];

interface IntegrationShape {
  RequestTemplates: Record<string, string>;
  IntegrationResponses: Array<{ StatusCode: string; ResponseTemplates?: Record<string, string> }>;
}

const TABLE = `${SERVICE_NAME}-${TEST_STAGE}-images`;

// Keys that need JSON escaping: quotes, backslashes, control characters, non-ASCII (two-byte, CJK, astral).
const HARD_KEYS = [
  'plain.jpg',
  'folder/sub folder/photo 1.jpg',
  'quote"d.jpg',
  "apostrophe's.jpg",
  'back\\slash.jpg',
  'tab\tnew\nline\r.jpg',
  'bell\u0007null\u0000.jpg',
  'café/東京/😀.png',
  '</script>.png',
];

let template: Template;
let scan: IntegrationShape;
let getItem: IntegrationShape;

beforeAll(async () => {
  ({ template } = await compiledPackage());
  scan = property(template, 'ImagesApiListImagesMethod', 'Integration') as IntegrationShape;
  getItem = property(template, 'ImagesApiGetImageMethod', 'Integration') as IntegrationShape;
}, PACKAGE_TIMEOUT_MS);

const responseTemplate = (integration: IntegrationShape, status: string) =>
  integration.IntegrationResponses.find((response) => response.StatusCode === status)?.ResponseTemplates?.[
    'application/json'
  ] ?? '';

function typedItem(id: string): Record<string, unknown> {
  return {
    Id: { S: id },
    Source: {
      M: {
        Bucket: { S: 'raw' },
        Key: { S: id },
        Size: { N: '123456' },
        Format: { S: 'jpeg' },
        Width: { N: '4000' },
        Height: { N: '3000' },
      },
    },
    ThumbnailStatus: { S: 'done' },
    Thumbnail: {
      M: {
        Width: { N: '256' },
        Height: { N: '192' },
        ContentType: { S: 'image/jpeg' },
        Format: { S: 'jpeg' },
      },
    },
    LabelsStatus: { S: 'failed' },
    LabelsError: { S: `DetectLabels failed for "${id}": \\ bad\nimage` },
    Labels: {
      L: [{ M: { Name: { S: `Dog ${id}` }, Confidence: { N: '98.25' }, Parents: { L: [{ S: 'Animal' }] } } }],
    },
  };
}

describe('escapeJavaScript stand-in', () => {
  it('escapes an apostrophe as backslash apostrophe', () => {
    expect(escapeJavaScript("a'b")).toBe("a\\'b");
  });

  it('escapes non-ASCII as \\u sequences', () => {
    expect(escapeJavaScript('é')).toBe('\\u00E9');
  });
});

describe('Scan request template', () => {
  const renderRequest = (querystring: Record<string, string>) =>
    JSON.parse(
      renderMappingTemplate(scan.RequestTemplates['application/json'] ?? '', { querystring }).output,
    ) as {
      TableName: string;
      Limit: number;
      ExclusiveStartKey?: { Id: { S: string } };
    };

  it('names the literal table', () => {
    expect(renderRequest({}).TableName).toBe(TABLE);
  });

  it.each([
    ['', 50],
    ['7', 7],
    ['100', 100],
    ['101', 100],
    ['0', 1],
    ['999999', 100],
    ['-5', 50],
    ['abc', 50],
    ['2.5', 50],
    ['1e3', 50],
  ])('limit %j becomes %i', (limit, expected) => {
    expect(renderRequest(limit === '' ? {} : { limit }).Limit).toBe(expected);
  });

  it('omits the start key without a token', () => {
    expect(renderRequest({}).ExclusiveStartKey).toBeUndefined();
  });

  it.each(HARD_KEYS)('token of %j decodes to the same start key', (key) => {
    const next = Buffer.from(key, 'utf8').toString('base64');

    expect(renderRequest({ next }).ExclusiveStartKey).toEqual({ Id: { S: key } });
  });

  it('malicious token cannot change the table name', () => {
    const injection = 'x"}}, "TableName": "other-table", "Select": "COUNT", "a": {"b": {"S": "';
    const next = Buffer.from(injection, 'utf8').toString('base64');

    expect(renderRequest({ next }).TableName).toBe(TABLE);
  });

  it('malicious token stays inside the start key', () => {
    const injection = 'x"}}, "TableName": "other-table", "a": {"b": {"S": "';
    const next = Buffer.from(injection, 'utf8').toString('base64');

    expect(Object.keys(renderRequest({ next })).sort()).toEqual(['ExclusiveStartKey', 'Limit', 'TableName']);
  });
});

describe('Scan response template', () => {
  const renderList = (body: unknown) =>
    JSON.parse(renderMappingTemplate(responseTemplate(scan, '200'), { body }).output) as {
      items: Array<Record<string, unknown>>;
      next?: string;
    };

  it('renders an empty table as an empty list', () => {
    expect(renderList({ Items: [], Count: 0, ScannedCount: 0 })).toEqual({ items: [] });
  });

  it.each(HARD_KEYS)('item id %j renders to valid JSON with the same value', (key) => {
    expect(renderList({ Items: [typedItem(key)] }).items[0]?.id).toBe(key);
  });

  it('renders every attribute of a typed item', () => {
    const key = 'folder/café "1".jpg';

    expect(renderList({ Items: [typedItem(key)] }).items[0]).toEqual({
      id: key,
      status: 'failed',
      labels: [{ name: `Dog ${key}`, confidence: 98.25 }],
      thumbnail: {
        path: '/thumbnails/folder%2Fcaf%C3%A9%20%221%22.jpg',
        width: 256,
        height: 192,
        contentType: 'image/jpeg',
      },
      source: { size: 123456, format: 'jpeg', width: 4000, height: 3000 },
      errors: { thumbnail: null, labels: `DetectLabels failed for "${key}": \\ bad\nimage` },
    });
  });

  it.each([
    [undefined, undefined, 'pending'],
    ['done', undefined, 'pending'],
    ['done', 'done', 'done'],
    ['failed', 'done', 'failed'],
    [undefined, 'failed', 'failed'],
  ])('thumbnail %s and labels %s give status %s', (thumbnailStatus, labelsStatus, expected) => {
    const item: Record<string, unknown> = { Id: { S: 'a.jpg' } };
    if (thumbnailStatus !== undefined) item.ThumbnailStatus = { S: thumbnailStatus };
    if (labelsStatus !== undefined) item.LabelsStatus = { S: labelsStatus };

    expect(renderList({ Items: [item] }).items[0]?.status).toBe(expected);
  });

  it('renders a pending item with nulls', () => {
    expect(renderList({ Items: [{ Id: { S: 'new.jpg' } }] }).items[0]).toEqual({
      id: 'new.jpg',
      status: 'pending',
      labels: [],
      thumbnail: null,
      source: null,
      errors: { thumbnail: null, labels: null },
    });
  });

  it('omits next on the last page', () => {
    expect(renderList({ Items: [typedItem('a.jpg')] }).next).toBeUndefined();
  });

  it.each(HARD_KEYS)('next token for %j round-trips into the next request', (key) => {
    const { next } = renderList({ Items: [typedItem(key)], LastEvaluatedKey: { Id: { S: key } } });
    const request = JSON.parse(
      renderMappingTemplate(scan.RequestTemplates['application/json'] ?? '', {
        querystring: { next: next ?? '' },
      }).output,
    ) as { ExclusiveStartKey?: unknown };

    expect(request.ExclusiveStartKey).toEqual({ Id: { S: key } });
  });

  it('renders several items in order', () => {
    const ids = renderList({ Items: HARD_KEYS.map(typedItem) }).items.map((item) => item.id);

    expect(ids).toEqual(HARD_KEYS);
  });
});

describe('GetItem templates', () => {
  it.each(HARD_KEYS)('request for %j names the key and the table', (key) => {
    const request = JSON.parse(
      renderMappingTemplate(getItem.RequestTemplates['application/json'] ?? '', { path: { key } }).output,
    );

    expect(request).toEqual({ TableName: TABLE, Key: { Id: { S: key } } });
  });

  it('response for a missing item sets status 404', () => {
    expect(renderMappingTemplate(responseTemplate(getItem, '200'), { body: {} }).statusOverride).toBe(404);
  });

  it('response for a missing item is a JSON message', () => {
    const body = JSON.parse(renderMappingTemplate(responseTemplate(getItem, '200'), { body: {} }).output);

    expect(typeof body.message).toBe('string');
  });

  it('response for a found item keeps status 200', () => {
    const rendered = renderMappingTemplate(responseTemplate(getItem, '200'), {
      body: { Item: typedItem('a.jpg') },
    });

    expect(rendered.statusOverride).toBeUndefined();
  });

  it.each(HARD_KEYS)('response for %j matches the list rendering', (key) => {
    const single = JSON.parse(
      renderMappingTemplate(responseTemplate(getItem, '200'), { body: { Item: typedItem(key) } }).output,
    );
    const listed = JSON.parse(
      renderMappingTemplate(responseTemplate(scan, '200'), { body: { Items: [typedItem(key)] } }).output,
    ).items[0];

    expect(single).toEqual(listed);
  });
});

describe('upload response template', () => {
  const uploadSuccess = () => {
    const integration = property(template, 'ImagesApiPutImageMethod', 'Integration') as IntegrationShape;
    return responseTemplate(integration, '201');
  };

  it.each(HARD_KEYS)('201 body names the key %j', (key) => {
    const body = JSON.parse(renderMappingTemplate(uploadSuccess(), { path: { key } }).output);

    expect(body).toEqual({ key });
  });
});
