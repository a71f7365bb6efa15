import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { buildS3EventRecord, type S3EventName, SequencerClock } from './s3/event-records';
import { buildSnsEvent } from './sns/notification-router';
import { readRunningStack, type StackDescription } from './stack-file';

const USAGE = `Usage: npm run --silent event -- KEY [--removed] [--out FILE] [--data-dir DIR]

Writes the SNS-wrapped S3 notification that the running local stack would send for KEY in its raw bucket, with a
sequencer newer than any event so far, so that \`sls invoke local -p FILE\` processes it as a new event. For an
upload the object must exist (its size and ETag go into the record); --removed writes an ObjectRemoved:Delete event.

Options:
  --removed        an ObjectRemoved:Delete event instead of ObjectCreated:Put
  --out FILE       write to FILE instead of standard output
  --data-dir DIR   the running stack's data folder (default .local-data)`;

class EventError extends Error {
  override name = 'EventError';
}

async function objectFacts(stack: StackDescription, key: string): Promise<{ size: number; eTag: string }> {
  const s3 = new S3Client({
    endpoint: stack.endpoints.s3,
    region: stack.region,
    forcePathStyle: true,
    credentials: stack.credentials,
  });
  try {
    const head = await s3.send(new HeadObjectCommand({ Bucket: stack.rawBucket, Key: key }));
    return { size: head.ContentLength ?? 0, eTag: (head.ETag ?? '').replace(/"/g, '') };
  } catch (error) {
    if ((error as Error).name === 'NotFound') {
      throw new EventError(
        `s3://${stack.rawBucket}/${key} does not exist: upload it first, for example with ` +
          '`npm run process -- FILE`, which uploads FILE under its file name',
      );
    }
    throw error;
  } finally {
    s3.destroy();
  }
}

async function main(): Promise<number> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const { values, positionals } = parseArgs({
    options: {
      removed: { type: 'boolean', default: false },
      out: { type: 'string' },
      'data-dir': { type: 'string', default: '.local-data' },
      help: { type: 'boolean', default: false },
    },
    allowPositionals: true,
  });
  const key = positionals[0];
  if (values.help || key === undefined || positionals.length > 1) {
    console.error(USAGE);
    return values.help ? 0 : 2;
  }

  const dataDir = path.resolve(values['data-dir']);
  const stack = readRunningStack(dataDir);
  if (stack === undefined) {
    throw new EventError(
      `no local stack is running with data folder ${dataDir}: start one with \`npm start\``,
    );
  }

  const eventName: S3EventName = values.removed ? 'ObjectRemoved:Delete' : 'ObjectCreated:Put';
  const facts = values.removed ? {} : await objectFacts(stack, key);
  const record = buildS3EventRecord(
    {
      eventName,
      bucket: stack.rawBucket,
      key,
      ...facts,
      // The stack's sequencers derive from the clock, so one taken now is newer than every event it sent before.
      sequencer: new SequencerClock().next(),
      time: new Date(),
      sourceIp: '127.0.0.1',
    },
    { region: stack.region, configurationId: 'local-generated-event' },
  );
  const topicArn = `arn:aws:sns:${stack.region}:000000000000:local-generated-event`;
  const event = buildSnsEvent(
    { logicalId: 'GeneratedEvent', name: 'local-generated-event', arn: topicArn, subscriptions: [] },
    `${topicArn}:${randomUUID()}`,
    JSON.stringify({ Records: [record] }),
    randomUUID(),
    new Date(),
    stack.region,
  );

  const text = `${JSON.stringify(event, null, 2)}\n`;
  if (values.out === undefined) process.stdout.write(text);
  else writeFileSync(values.out, text);
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof EventError ? `error: ${error.message}` : error);
    process.exitCode = 1;
  },
);
