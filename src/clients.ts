import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { RekognitionClient } from '@aws-sdk/client-rekognition';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

// Endpoints come from the SDK's own AWS_ENDPOINT_URL_<SERVICE> variables, so a local stack needs no code path here.
// S3_FORCE_PATH_STYLE is for S3-compatible servers that cannot route virtual-hosted bucket names.
const forcePathStyle = process.env.S3_FORCE_PATH_STYLE === 'true';

let s3Client: S3Client | undefined;
let documentClient: DynamoDBDocumentClient | undefined;
const rekognitionClients = new Map<string, RekognitionClient>();

/** Creates the S3 client on first use and reuses it for the life of the execution environment. */
export function getS3Client(): S3Client {
  s3Client ??= new S3Client({ forcePathStyle });
  return s3Client;
}

export function getDocumentClient(): DynamoDBDocumentClient {
  documentClient ??= DynamoDBDocumentClient.from(new DynamoDBClient({}), {
    marshallOptions: { removeUndefinedValues: true },
  });
  return documentClient;
}

/** Rekognition reads S3 objects only in its own region, so there is one client per bucket region. */
export function getRekognitionClient(region: string): RekognitionClient {
  let client = rekognitionClients.get(region);
  if (client === undefined) {
    client = new RekognitionClient({ region });
    rekognitionClients.set(region, client);
  }
  return client;
}
