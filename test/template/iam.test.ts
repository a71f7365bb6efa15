// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are CloudFormation Fn::Sub placeholders.
import { property, renderList, renderString, resource, resourcesOfType } from './cloudformation';
import {
  type CloudFormationTemplate,
  compiledPackage,
  PACKAGE_TIMEOUT_MS,
  TEST_BUCKET_PREFIX,
  TEST_STAGE,
} from './compiled-template';

interface Statement {
  Effect: string;
  Action: string[];
  Resource: string[];
}

const RAW_BUCKET = `${TEST_BUCKET_PREFIX}-image-pipeline-${TEST_STAGE}-raw`;
const THUMBNAIL_BUCKET = `${TEST_BUCKET_PREFIX}-image-pipeline-${TEST_STAGE}-thumbnails`;
const S3_ARN = 'arn:${AWS::Partition}:s3:::';
const TABLE_ARN = '${ImagesTable.Arn}';
const FAILED_INVOCATIONS_QUEUE_ARN = '${FailedInvocationsQueue.Arn}';
const LOG_GROUP_ARN = 'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:';

// The grants each function needs and nothing more; log statements are checked separately.
const EXPECTED_STATEMENTS: Record<string, Statement[]> = {
  CreateThumbnailLambdaFunction: [
    { Effect: 'Allow', Action: ['s3:GetObject'], Resource: [`${S3_ARN}${RAW_BUCKET}/*`] },
    {
      Effect: 'Allow',
      Action: ['s3:DeleteObject', 's3:PutObject'],
      Resource: [`${S3_ARN}${THUMBNAIL_BUCKET}/*`],
    },
    { Effect: 'Allow', Action: ['dynamodb:UpdateItem'], Resource: [TABLE_ARN] },
    // Lambda sends the on-failure destination's record with the function's role.
    { Effect: 'Allow', Action: ['sqs:SendMessage'], Resource: [FAILED_INVOCATIONS_QUEUE_ARN] },
  ],
  AnalyzeImageLambdaFunction: [
    { Effect: 'Allow', Action: ['s3:GetObject'], Resource: [`${S3_ARN}${RAW_BUCKET}/*`] },
    // DetectLabels supports no resource-level permissions, so IAM requires "*".
    { Effect: 'Allow', Action: ['rekognition:DetectLabels'], Resource: ['*'] },
    {
      Effect: 'Allow',
      Action: ['dynamodb:DeleteItem', 'dynamodb:UpdateItem'],
      Resource: [TABLE_ARN],
    },
    { Effect: 'Allow', Action: ['sqs:SendMessage'], Resource: [FAILED_INVOCATIONS_QUEUE_ARN] },
  ],
};
const FUNCTIONS = Object.keys(EXPECTED_STATEMENTS);

function normalize(statement: Record<string, unknown>): Statement {
  return {
    Effect: String(statement.Effect),
    Action: renderList(statement.Action).sort(),
    Resource: renderList(statement.Resource).sort(),
  };
}

function sortStatements(statements: Statement[]): Statement[] {
  return [...statements].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

function roleOf(template: CloudFormationTemplate, functionId: string): string {
  const role = property(template, functionId, 'Role') as { 'Fn::GetAtt'?: [string, string] };
  const roleId = role['Fn::GetAtt']?.[0];
  if (roleId === undefined) throw new Error(`${functionId} does not take its role from a GetAtt`);
  return roleId;
}

function roleStatements(template: CloudFormationTemplate, roleId: string): Statement[] {
  const policies = (property(template, roleId, 'Policies') ?? []) as Array<{
    PolicyDocument: { Statement: Record<string, unknown>[] };
  }>;
  return policies.flatMap((policy) => policy.PolicyDocument.Statement.map(normalize));
}

function isLogStatement(statement: Statement): boolean {
  return statement.Action.every((action) => action.startsWith('logs:'));
}

let template: CloudFormationTemplate;

beforeAll(async () => {
  ({ template } = await compiledPackage());
}, PACKAGE_TIMEOUT_MS);

describe('function roles', () => {
  it('template has one role per function and no shared role', () => {
    // The API's credentials roles trust apigateway.amazonaws.com and are checked in api.test.ts.
    const lambdaRoles = resourcesOfType(template, 'AWS::IAM::Role').filter((roleId) =>
      JSON.stringify(property(template, roleId, 'AssumeRolePolicyDocument')).includes('lambda.amazonaws.com'),
    );

    expect(lambdaRoles.sort()).toEqual(FUNCTIONS.map((functionId) => roleOf(template, functionId)).sort());
  });

  it('template drops the default IamRoleLambdaExecution', () => {
    expect(template.Resources.IamRoleLambdaExecution).toBeUndefined();
  });

  it.each(FUNCTIONS)('%s role grants exactly its statements', (functionId) => {
    const statements = roleStatements(template, roleOf(template, functionId));
    const granted = statements.filter((statement) => !isLogStatement(statement));

    expect(sortStatements(granted)).toEqual(sortStatements(EXPECTED_STATEMENTS[functionId] ?? []));
  });

  it.each(FUNCTIONS)('%s role writes logs only to its own log group', (functionId) => {
    const functionName = renderString(property(template, functionId, 'FunctionName'));
    const statements = roleStatements(template, roleOf(template, functionId)).filter(isLogStatement);
    const resources = statements.flatMap((statement) => statement.Resource);

    expect(resources.length).toBeGreaterThan(0);
    for (const arn of resources) {
      expect(arn.startsWith(`${LOG_GROUP_ARN}/aws/lambda/${functionName}:`)).toBe(true);
    }
  });

  it.each(FUNCTIONS)('%s role trusts only lambda.amazonaws.com', (functionId) => {
    const trust = property(template, roleOf(template, functionId), 'AssumeRolePolicyDocument') as {
      Statement: Array<{ Effect: string; Principal: unknown; Action: unknown }>;
    };

    expect(trust.Statement).toEqual([
      { Effect: 'Allow', Principal: { Service: ['lambda.amazonaws.com'] }, Action: ['sts:AssumeRole'] },
    ]);
  });

  it.each(FUNCTIONS)('%s role has no managed policies', (functionId) => {
    const managed = property(template, roleOf(template, functionId), 'ManagedPolicyArns') ?? [];

    expect(managed).toEqual([]);
  });
});

describe('wildcard resources', () => {
  const allStatements = () =>
    resourcesOfType(template, 'AWS::IAM::Role').flatMap((roleId) => roleStatements(template, roleId));

  it('only rekognition:DetectLabels has resource "*"', () => {
    const unscoped = allStatements().filter((statement) => statement.Resource.includes('*'));

    expect(unscoped.map((statement) => statement.Action)).toEqual([['rekognition:DetectLabels']]);
  });

  it('every other wildcard stays inside one bucket or log group', () => {
    const scopedPatterns = [
      /^arn:\$\{AWS::Partition\}:s3:::[a-z0-9][a-z0-9.-]*[a-z0-9]\/\*$/,
      /^arn:\$\{AWS::Partition\}:logs:\$\{AWS::Region\}:\$\{AWS::AccountId\}:log-group:\/aws\/lambda\/[^*:]+(:\*)+$/,
    ];
    const wildcards = allStatements()
      .flatMap((statement) => statement.Resource)
      .filter((arn) => arn !== '*' && arn.includes('*'));

    for (const arn of wildcards) {
      expect(scopedPatterns.some((pattern) => pattern.test(arn))).toBe(true);
    }
  });

  it('no role statement uses NotAction or NotResource', () => {
    const raw = resourcesOfType(template, 'AWS::IAM::Role').flatMap((roleId) =>
      (
        (resource(template, roleId).Properties?.Policies ?? []) as Array<{
          PolicyDocument: { Statement: object[] };
        }>
      )
        .flatMap((policy) => policy.PolicyDocument.Statement)
        .filter((statement) => 'NotAction' in statement || 'NotResource' in statement),
    );

    expect(raw).toEqual([]);
  });
});
