import { property, renderString } from './cloudformation';
import {
  type CloudFormationTemplate,
  compiledPackage,
  PACKAGE_TIMEOUT_MS,
  SERVICE_NAME,
  TEST_BUCKET_PREFIX,
  TEST_STAGE,
} from './compiled-template';

const FUNCTIONS = ['CreateThumbnailLambdaFunction', 'AnalyzeImageLambdaFunction'];

// S3 bucket naming rules: 3 to 63 characters of lowercase letters, digits, dots and hyphens, starting and ending
// with a letter or digit.
const BUCKET_NAME_RULE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

let template: CloudFormationTemplate;

beforeAll(async () => {
  ({ template } = await compiledPackage());
}, PACKAGE_TIMEOUT_MS);

function environmentOf(functionId: string): Record<string, string> {
  return (property(template, functionId, 'Environment.Variables') ?? {}) as Record<string, string>;
}

describe('resource names', () => {
  it.each([
    ['RawBucket', 'BucketName', `${TEST_BUCKET_PREFIX}-${SERVICE_NAME}-${TEST_STAGE}-raw`],
    ['ThumbnailBucket', 'BucketName', `${TEST_BUCKET_PREFIX}-${SERVICE_NAME}-${TEST_STAGE}-thumbnails`],
    ['ImagesTable', 'TableName', `${SERVICE_NAME}-${TEST_STAGE}-images`],
    ['ImageEventsTopic', 'TopicName', `${SERVICE_NAME}-${TEST_STAGE}-image-events`],
  ])('%s is named from prefix, service and stage', (logicalId, nameProperty, expected) => {
    expect(renderString(property(template, logicalId, nameProperty))).toBe(expected);
  });

  it.each(['RawBucket', 'ThumbnailBucket'])('%s name follows the S3 naming rules', (logicalId) => {
    expect(renderString(property(template, logicalId, 'BucketName'))).toMatch(BUCKET_NAME_RULE);
  });
});

describe.each(FUNCTIONS)('%s', (functionId) => {
  it('runs on nodejs24.x', () => {
    expect(property(template, functionId, 'Runtime')).toBe('nodejs24.x');
  });

  it('runs on arm64 by default', () => {
    expect(property(template, functionId, 'Architectures')).toEqual(['arm64']);
  });

  it.each([
    ['RAW_BUCKET_NAME', 'RawBucket', 'BucketName'],
    ['THUMBNAIL_BUCKET_NAME', 'ThumbnailBucket', 'BucketName'],
    ['IMAGES_TABLE_NAME', 'ImagesTable', 'TableName'],
  ])('%s equals the name of %s', (variable, logicalId, nameProperty) => {
    expect(environmentOf(functionId)[variable]).toBe(
      renderString(property(template, logicalId, nameProperty)),
    );
  });

  it('environment holds only literal strings', () => {
    // `sls invoke local` has no AWS credentials, so it cannot resolve Ref or Fn::GetAtt in the environment.
    const nonStrings = Object.entries(environmentOf(functionId)).filter(
      ([, value]) => typeof value !== 'string',
    );

    expect(nonStrings).toEqual([]);
  });

  it('logs as the service', () => {
    expect(environmentOf(functionId).POWERTOOLS_SERVICE_NAME).toBe(SERVICE_NAME);
  });

  it('maps stack traces through source maps', () => {
    expect(environmentOf(functionId).NODE_OPTIONS).toBe('--enable-source-maps');
  });
});

describe('function settings', () => {
  // Defaults stated by the service's specification: 256 px thumbnails, 10 labels at 75% confidence.
  it.each([
    ['CreateThumbnailLambdaFunction', 'THUMBNAIL_MAX_WIDTH', '256'],
    ['CreateThumbnailLambdaFunction', 'THUMBNAIL_MAX_HEIGHT', '256'],
    ['CreateThumbnailLambdaFunction', 'THUMBNAIL_OPAQUE_FORMAT', 'jpeg'],
    ['CreateThumbnailLambdaFunction', 'THUMBNAIL_ALPHA_FORMAT', 'png'],
    ['AnalyzeImageLambdaFunction', 'LABELS_MAX_LABELS', '10'],
    ['AnalyzeImageLambdaFunction', 'LABELS_MIN_CONFIDENCE', '75'],
  ])('%s sets %s to %s', (functionId, variable, expected) => {
    expect(environmentOf(functionId)[variable]).toBe(expected);
  });

  it.each(FUNCTIONS)('%s limits decoded pixels', (functionId) => {
    expect(Number(environmentOf(functionId).MAX_INPUT_PIXELS)).toBeGreaterThan(0);
  });
});
