// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are CloudFormation Fn::Sub placeholders.
import { dependencyGraph, findCycle, referencedNames, renderString } from './cloudformation';
import { type CloudFormationTemplate, compiledPackage, PACKAGE_TIMEOUT_MS } from './compiled-template';

describe('findCycle', () => {
  it('returns undefined for a chain', () => {
    const graph = new Map([
      ['A', new Set(['B'])],
      ['B', new Set(['C'])],
      ['C', new Set<string>()],
    ]);

    expect(findCycle(graph)).toBeUndefined();
  });

  it('returns the path of a cycle', () => {
    const graph = new Map([
      ['A', new Set(['B'])],
      ['B', new Set(['C'])],
      ['C', new Set(['A'])],
    ]);

    expect(findCycle(graph)).toEqual(['A', 'B', 'C', 'A']);
  });
});

describe('dependencyGraph', () => {
  const template: CloudFormationTemplate = {
    Resources: {
      Topic: { Type: 'AWS::SNS::Topic' },
      Table: { Type: 'AWS::DynamoDB::Table' },
      Policy: {
        Type: 'AWS::SNS::TopicPolicy',
        Properties: {
          Topics: [{ Ref: 'Topic' }],
          Source: { 'Fn::Sub': 'arn:${AWS::Partition}:x:::${Table.Arn}' },
        },
      },
      Bucket: {
        Type: 'AWS::S3::Bucket',
        DependsOn: 'Policy',
        Properties: {
          Name: { 'Fn::Sub': ['${Local}-${Table}', { Local: { 'Fn::GetAtt': ['Topic', 'Name'] } }] },
        },
      },
    },
  };

  it('follows Ref and Fn::Sub placeholders', () => {
    expect(dependencyGraph(template).get('Policy')).toEqual(new Set(['Topic', 'Table']));
  });

  it('follows DependsOn, Fn::GetAtt and Fn::Sub variables', () => {
    expect(dependencyGraph(template).get('Bucket')).toEqual(new Set(['Policy', 'Topic', 'Table']));
  });
});

describe('renderString', () => {
  it('expands Fn::Join with Ref', () => {
    const value = { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::bucket/*']] };

    expect(renderString(value)).toBe('arn:${AWS::Partition}:s3:::bucket/*');
  });

  it('substitutes Fn::Sub variables', () => {
    const value = { 'Fn::Sub': ['${Table}/index', { Table: { 'Fn::GetAtt': ['ImagesTable', 'Arn'] } }] };

    expect(renderString(value)).toBe('${ImagesTable.Arn}/index');
  });
});

describe('compiled template graph', () => {
  let template: CloudFormationTemplate;

  beforeAll(async () => {
    ({ template } = await compiledPackage());
  }, PACKAGE_TIMEOUT_MS);

  it('has no dependency cycle', () => {
    expect(findCycle(dependencyGraph(template))).toBeUndefined();
  });

  it('refers only to resources and parameters it defines', () => {
    const parameters = (template as { Parameters?: Record<string, unknown> }).Parameters ?? {};
    const known = new Set([...Object.keys(template.Resources), ...Object.keys(parameters)]);
    const unknown = Object.values(template.Resources)
      .flatMap((definition) => [...referencedNames(definition)])
      .filter((name) => !known.has(name));

    expect(unknown).toEqual([]);
  });
});
