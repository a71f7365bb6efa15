/**
 * Prints what the local Rekognition endpoint detects in each JPEG or PNG of a folder, with every score down to 5%,
 * and the time per image. Used to choose the local stack's LABELS_MIN_CONFIDENCE.
 *
 * Usage: npx tsx local/rekognition/score-images.ts [FOLDER]   (default: ../shared/images/subjects)
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { DetectLabelsCommand, RekognitionClient } from '@aws-sdk/client-rekognition';
import { startLocalRekognition } from './server';

async function main(): Promise<void> {
  const folder = path.resolve(
    process.argv[2] ?? path.join(__dirname, '..', '..', '..', 'shared', 'images', 'subjects'),
  );
  const files = (await readdir(folder)).filter((file) => /\.(jpe?g|png)$/i.test(file)).sort();

  const loadStarted = performance.now();
  const endpoint = await startLocalRekognition({
    // S3Object is not used here, so the S3 endpoint is never contacted.
    s3: {
      endpoint: 'http://127.0.0.1:9',
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    },
    log: () => {},
  });
  console.log(`model load: ${Math.round(performance.now() - loadStarted)} ms`);

  const client = new RekognitionClient({
    endpoint: endpoint.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  try {
    for (const file of files) {
      const bytes = await readFile(path.join(folder, file));
      const started = performance.now();
      const response = await client.send(
        new DetectLabelsCommand({ Image: { Bytes: bytes }, MinConfidence: 5, MaxLabels: 1000 }),
      );
      const elapsed = Math.round(performance.now() - started);
      // Only labels with instances are the detector's own classes; ancestors repeat their best descendant's score.
      const detected = (response.Labels ?? [])
        .filter((label) => (label.Instances ?? []).length > 0)
        .map((label) => {
          const scores = (label.Instances ?? []).map((instance) => (instance.Confidence ?? 0).toFixed(0));
          return `${label.Name} ${scores.join('/')}`;
        });
      console.log(`${file}\t${elapsed} ms\t${detected.join(', ')}`);
    }
  } finally {
    client.destroy();
    await endpoint.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
