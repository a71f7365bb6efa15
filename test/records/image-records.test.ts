import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { createImageRecordStore, type ImageRecordStore } from '../../src/records/image-records';
import { type LocalTable, startLocalTable } from '../support/dynalite';

const source = { Bucket: 'raw-bucket', Key: 'photo.jpg', Size: 2048, ETag: 'e1' };
const thumbnail = {
  Bucket: 'thumbnail-bucket',
  Key: 'photo.jpg',
  Width: 256,
  Height: 171,
  Format: 'jpeg',
  ContentType: 'image/jpeg',
  Size: 9000,
};
const dog = {
  Name: 'Dog',
  Confidence: 91.5,
  Parents: ['Animal'],
  Categories: ['Animals and Pets'],
  Instances: [],
};

describe('image record store', () => {
  let table: LocalTable;
  let store: ImageRecordStore;

  beforeAll(async () => {
    table = await startLocalTable();
  });
  afterAll(async () => {
    await table.close();
  });

  let id: string;
  beforeEach(() => {
    id = `image-${expect.getState().currentTestName}`;
    store = createImageRecordStore(table.client, table.tableName, () => new Date('2026-12-04T12:00:00.000Z'));
  });

  async function item(): Promise<Record<string, unknown> | undefined> {
    const response = await table.client.send(new GetCommand({ TableName: table.tableName, Key: { Id: id } }));
    return response.Item;
  }

  it('keeps both stages attributes on one item', async () => {
    await store.recordThumbnail({ id, sequencer: 'A1', source, thumbnail });
    await store.recordLabels({ id, sequencer: 'A1', labels: [dog] });

    const stored = await item();

    expect(stored?.Thumbnail).toEqual(thumbnail);
    expect(stored?.Source).toEqual(source);
    expect(stored?.ThumbnailStatus).toBe('done');
    expect(stored?.Labels).toEqual([dog]);
    expect(stored?.LabelsStatus).toBe('done');
  });

  it('writes the same item for a duplicate delivery', async () => {
    await store.recordLabels({ id, sequencer: 'B2', labels: [dog] });
    const first = await item();

    const outcome = await store.recordLabels({ id, sequencer: 'B2', labels: [dog] });

    expect(outcome).toBe('recorded');
    expect(await item()).toEqual(first);
  });

  it('refuses an older thumbnail event after a newer one', async () => {
    await store.recordThumbnail({ id, sequencer: '100', source, thumbnail });

    const outcome = await store.recordThumbnailFailure({
      id,
      sequencer: '0FF',
      source,
      error: 'old failure',
    });

    expect(outcome).toBe('stale');
    expect((await item())?.ThumbnailStatus).toBe('done');
  });

  it('refuses an older label event after a newer one', async () => {
    await store.recordLabelsFailure({ id, sequencer: '0055AED6DCD90281E6', error: 'newer failure' });

    const outcome = await store.recordLabels({ id, sequencer: '0055AED6DCD90281E5', labels: [dog] });

    expect(outcome).toBe('stale');
    expect((await item())?.LabelsError).toBe('newer failure');
    expect((await item())?.Labels).toBeUndefined();
  });

  it('replaces a thumbnail with a newer failure', async () => {
    await store.recordThumbnail({ id, sequencer: '01', source, thumbnail });

    await store.recordThumbnailFailure({ id, sequencer: '02', source, error: 'corrupt' });
    const stored = await item();

    expect(stored?.ThumbnailStatus).toBe('failed');
    expect(stored?.ThumbnailError).toBe('corrupt');
    expect(stored?.Thumbnail).toBeUndefined();
  });

  it('clears the thumbnail for a newer removal', async () => {
    await store.recordThumbnail({ id, sequencer: '01', source, thumbnail });
    await store.recordLabels({ id, sequencer: '01', labels: [dog] });

    const outcome = await store.clearThumbnail({ id, sequencer: '02' });
    const stored = await item();

    expect(outcome).toBe('recorded');
    expect(stored?.Thumbnail).toBeUndefined();
    expect(stored?.ThumbnailStatus).toBeUndefined();
    expect(stored?.Labels).toEqual([dog]);
  });

  it('reports a removal older than the recorded upload as stale', async () => {
    await store.recordThumbnail({ id, sequencer: '05', source, thumbnail });

    const outcome = await store.clearThumbnail({ id, sequencer: '04' });

    expect(outcome).toBe('stale');
    expect((await item())?.Thumbnail).toEqual(thumbnail);
  });

  it('lets a removal through without creating an item', async () => {
    const outcome = await store.clearThumbnail({ id, sequencer: '07' });

    expect(outcome).toBe('recorded');
    expect(await item()).toBeUndefined();
  });

  it('deletes the item for the newest removal', async () => {
    await store.recordThumbnail({ id, sequencer: '01', source, thumbnail });
    await store.recordLabels({ id, sequencer: '01', labels: [dog] });
    await store.clearThumbnail({ id, sequencer: '02' });

    const outcome = await store.deleteImage({ id, sequencer: '02' });

    expect(outcome).toBe('recorded');
    expect(await item()).toBeUndefined();
  });

  it('keeps the item when a stage recorded a newer upload', async () => {
    await store.recordLabels({ id, sequencer: '01', labels: [dog] });
    await store.recordThumbnail({ id, sequencer: '03', source, thumbnail });

    const outcome = await store.deleteImage({ id, sequencer: '02' });

    expect(outcome).toBe('stale');
    expect((await item())?.Thumbnail).toEqual(thumbnail);
  });

  it('keeps the item when labels are newer than the removal', async () => {
    await store.recordLabels({ id, sequencer: '09', labels: [dog] });

    expect(await store.deleteImage({ id, sequencer: '08' })).toBe('stale');
  });

  it('stores the sequencer padded so string order is numeric order', async () => {
    await store.recordLabels({ id, sequencer: 'ff', labels: [dog] });

    expect((await item())?.LabelsSequencer).toBe(`${'0'.repeat(62)}FF`);
  });
});
