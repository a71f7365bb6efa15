import type { CompiledTemplate } from './template-resources';

/** A template adapted to what moto's CloudFormation can create, with one line per change made. */
export interface AdaptedTemplate {
  template: CompiledTemplate;
  changes: string[];
}

interface MethodIntegration {
  Type?: string;
  IntegrationHttpMethod?: string;
  Uri?: unknown;
}

/** Returns whether an integration URI (a string or an Fn::Sub) points at S3 through API Gateway. */
function isS3Integration(uri: unknown): boolean {
  const text = typeof uri === 'string' ? uri : JSON.stringify(uri ?? '');
  return /:apigateway:[^:]*:s3:path\//.test(text) || text.includes(':s3:path/');
}

/**
 * Adapts a compiled template to gaps of moto 5.2.1's CloudFormation, leaving every logical id and type as it is,
 * so the rehearsal still checks that each resource is created. The adaptations, for AWS::ApiGateway::Method
 * (moto/apigateway/models.py, Method.create_from_cloudformation_json):
 * - moto reads Integration.IntegrationHttpMethod and Integration.Uri unconditionally, which MOCK integrations
 *   lack, so placeholders are added;
 * - moto drops Integration.Credentials, and then rejects every S3 integration with "Role ARN must be specified for
 *   AWS integrations", so S3 integrations become MOCK ones.
 * The integrations themselves are tested by the template tests and served by the local stack, not by moto.
 */
export function adaptTemplateForMoto(original: CompiledTemplate): AdaptedTemplate {
  const template = structuredClone(original);
  const changes: string[] = [];
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== 'AWS::ApiGateway::Method') continue;
    const integration = resource.Properties?.Integration as MethodIntegration | undefined;
    if (integration === undefined) continue;
    if (integration.Type === 'AWS' && isS3Integration(integration.Uri)) {
      integration.Type = 'MOCK';
      changes.push(
        `${logicalId}: S3 integration created as MOCK, because moto drops Integration.Credentials`,
      );
    }
    if (
      integration.Type === 'MOCK' &&
      (integration.IntegrationHttpMethod === undefined || integration.Uri === undefined)
    ) {
      integration.IntegrationHttpMethod ??= 'POST';
      integration.Uri ??= '';
      changes.push(
        `${logicalId}: placeholder IntegrationHttpMethod and Uri added, because moto requires them`,
      );
    }
  }
  return { template, changes };
}
