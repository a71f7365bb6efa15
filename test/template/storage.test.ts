import { property, renderList, resource, resourcesOfType } from './cloudformation';
import { type CloudFormationTemplate, compiledPackage, PACKAGE_TIMEOUT_MS } from './compiled-template';

const BUCKETS = ['RawBucket', 'ThumbnailBucket'];

interface PolicyStatement {
  Effect: string;
  Principal: unknown;
  Action: unknown;
  Resource: unknown;
  Condition?: unknown;
}

let template: CloudFormationTemplate;

beforeAll(async () => {
  ({ template } = await compiledPackage());
}, PACKAGE_TIMEOUT_MS);

function policyStatementsFor(bucketId: string): PolicyStatement[] {
  return resourcesOfType(template, 'AWS::S3::BucketPolicy')
    .map((logicalId) => resource(template, logicalId).Properties ?? {})
    .filter((policy) => JSON.stringify(policy.Bucket) === JSON.stringify({ Ref: bucketId }))
    .flatMap((policy) => (policy.PolicyDocument as { Statement: PolicyStatement[] }).Statement);
}

function tlsDenyStatements(bucketId: string): PolicyStatement[] {
  return policyStatementsFor(bucketId).filter(
    (statement) =>
      statement.Effect === 'Deny' &&
      JSON.stringify(statement.Condition) === JSON.stringify({ Bool: { 'aws:SecureTransport': 'false' } }),
  );
}

describe.each(BUCKETS)('%s', (bucketId) => {
  it('blocks every kind of public access', () => {
    expect(property(template, bucketId, 'PublicAccessBlockConfiguration')).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
  });

  it('encrypts objects by default', () => {
    const rules = property(
      template,
      bucketId,
      'BucketEncryption.ServerSideEncryptionConfiguration',
    ) as Array<{
      ServerSideEncryptionByDefault: { SSEAlgorithm: string };
    }>;

    expect(rules.map((rule) => rule.ServerSideEncryptionByDefault.SSEAlgorithm)).toEqual(['AES256']);
  });

  it('disables ACLs through bucket owner enforced', () => {
    expect(property(template, bucketId, 'OwnershipControls')).toEqual({
      Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }],
    });
  });

  it('has a policy that denies requests without TLS', () => {
    expect(tlsDenyStatements(bucketId)).toHaveLength(1);
  });

  it('TLS deny applies to every principal and action', () => {
    const [statement] = tlsDenyStatements(bucketId);

    expect({ Principal: statement?.Principal, Action: statement?.Action }).toEqual({
      Principal: '*',
      Action: 's3:*',
    });
  });

  it('TLS deny covers the bucket and its objects', () => {
    const [statement] = tlsDenyStatements(bucketId);

    expect(renderList(statement?.Resource).sort()).toEqual([`\${${bucketId}.Arn}`, `\${${bucketId}.Arn}/*`]);
  });

  it('policy grants nothing', () => {
    const allows = policyStatementsFor(bucketId).filter((statement) => statement.Effect !== 'Deny');

    expect(allows).toEqual([]);
  });
});

describe('ImagesTable', () => {
  it('bills per request', () => {
    expect(property(template, 'ImagesTable', 'BillingMode')).toBe('PAY_PER_REQUEST');
  });

  it('has partition key Id of type string', () => {
    expect(property(template, 'ImagesTable', 'KeySchema')).toEqual([
      { AttributeName: 'Id', KeyType: 'HASH' },
    ]);
  });

  it('defines only the key attribute', () => {
    expect(property(template, 'ImagesTable', 'AttributeDefinitions')).toEqual([
      { AttributeName: 'Id', AttributeType: 'S' },
    ]);
  });

  it('enables point-in-time recovery', () => {
    expect(property(template, 'ImagesTable', 'PointInTimeRecoverySpecification')).toEqual({
      PointInTimeRecoveryEnabled: true,
    });
  });

  it('enables server-side encryption', () => {
    expect(property(template, 'ImagesTable', 'SSESpecification')).toEqual({ SSEEnabled: true });
  });
});
