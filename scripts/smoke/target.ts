import { APIGatewayClient, GetApiKeyCommand } from '@aws-sdk/client-api-gateway';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { S3Client } from '@aws-sdk/client-s3';
import type { StackDescription } from '../../local/stack-file';

/** A deployed or local stage that the smoke test runs against. */
export interface SmokeTarget {
  /** Name of the target in the report, such as "stack image-pipeline-dev in eu-west-1". */
  name: string;
  apiUrl: string;
  apiKey: string;
  rawBucket: string;
  /** Client for the raw bucket, with which the smoke test deletes its upload. */
  s3: S3Client;
}

/** Error raised when a target cannot be resolved. Its message names what is missing and how to fix it. */
export class TargetError extends Error {
  override name = 'TargetError';
}

/** Builds the target of a running local stack from its description (`.local-data/stack.json`). */
export function localTarget(description: StackDescription): SmokeTarget {
  if (description.api === null) {
    throw new TargetError(
      `the local stack in ${description.dataDir} serves no API; package the service again with npm run package:local`,
    );
  }
  return {
    name: `local stack in ${description.dataDir}`,
    apiUrl: description.api.url,
    apiKey: description.api.apiKey,
    rawBucket: description.rawBucket,
    s3: new S3Client({
      endpoint: description.endpoints.s3,
      region: description.region,
      forcePathStyle: true,
      credentials: description.credentials,
    }),
  };
}

export interface DeployedStage {
  /** CloudFormation stack name; the Serverless Framework names it `<service>-<stage>`. */
  stackName: string;
  region: string;
}

/**
 * Reads a deployed stage's API URL, API key and raw bucket from its CloudFormation stack outputs, and the key's
 * value from API Gateway. Credentials and endpoints come from the SDK's default chain, so the same code reaches
 * AWS in a pipeline and an emulator when AWS_ENDPOINT_URL is set.
 */
export async function deployedTarget(stage: DeployedStage): Promise<SmokeTarget> {
  const cloudFormation = new CloudFormationClient({ region: stage.region });
  const apiGateway = new APIGatewayClient({ region: stage.region });
  try {
    const { Stacks } = await cloudFormation.send(new DescribeStacksCommand({ StackName: stage.stackName }));
    const outputs = new Map(
      (Stacks?.[0]?.Outputs ?? []).map((output) => [output.OutputKey, output.OutputValue]),
    );
    const output = (key: string, hint: string): string => {
      const value = outputs.get(key);
      if (value === undefined || value === '') {
        throw new TargetError(`stack ${stage.stackName} in ${stage.region} has no output ${key}: ${hint}`);
      }
      return value;
    };

    const apiUrl = output('ImagesApiUrl', 'deploy the current serverless.yml to this stage');
    const rawBucket = output('RawBucketName', 'deploy the current serverless.yml to this stage');
    // NOTE: stages deployed with apiAuth=iam have no API key; the smoke test does not sign requests with SigV4.
    const apiKeyId = output('ImagesApiKeyId', 'the smoke test needs a stage with apiAuth=apiKey');
    const { value } = await apiGateway.send(new GetApiKeyCommand({ apiKey: apiKeyId, includeValue: true }));
    if (value === undefined) {
      throw new TargetError(
        `API Gateway returned no value for API key ${apiKeyId}; allow apigateway:GET on it`,
      );
    }
    return {
      name: `stack ${stage.stackName} in ${stage.region}`,
      apiUrl: apiUrl.replace(/\/+$/, ''),
      apiKey: value,
      rawBucket,
      s3: new S3Client({ region: stage.region }),
    };
  } finally {
    cloudFormation.destroy();
    apiGateway.destroy();
  }
}
