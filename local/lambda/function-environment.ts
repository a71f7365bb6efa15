import { LOCAL_ACCESS_KEY_ID, LOCAL_SECRET_ACCESS_KEY } from '../s3/s3-server';
import type { StackDescription } from '../stack-file';
import type { PseudoParameters } from '../template/intrinsics';
import type { FunctionModel } from '../template/service-model';

/** True when the runtime is `nodejsNN.x` with NN above the major version of the Node.js running this stack. */
export function localNodeIsOlderThan(runtime: string): boolean {
  const declared = /^nodejs(\d+)\.x$/.exec(runtime)?.[1];
  const local = Number(process.versions.node.split('.')[0]);
  return declared !== undefined && Number(declared) > local;
}

/** The environment Lambda gives a function, pointed at the local endpoints. */
export function functionEnvironment(
  model: FunctionModel,
  pseudo: PseudoParameters,
  endpoints: StackDescription['endpoints'],
  extra: Record<string, string>,
): Record<string, string> {
  const environment: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    LANG: 'en_US.UTF-8',
    TZ: ':UTC',
    ...model.environment,
    AWS_REGION: pseudo.region,
    AWS_DEFAULT_REGION: pseudo.region,
    AWS_EXECUTION_ENV: `AWS_Lambda_${model.runtime}`,
    AWS_LAMBDA_FUNCTION_NAME: model.name,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(model.memorySize),
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${model.name}`,
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    AWS_ACCESS_KEY_ID: LOCAL_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: LOCAL_SECRET_ACCESS_KEY,
    // Keeps the SDK from ever looking for credentials on an instance metadata address.
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ENDPOINT_URL_S3: endpoints.s3,
    AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
    S3_FORCE_PATH_STYLE: 'true',
    ...extra,
  };
  // The SDK warns about the Node.js that runs it. Here that is the local Node, not the runtime the template declares,
  // so the warning would repeat in every environment and tell the user nothing about the function.
  if (localNodeIsOlderThan(model.runtime))
    environment.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  if (endpoints.rekognition !== null) environment.AWS_ENDPOINT_URL_REKOGNITION = endpoints.rekognition;
  return environment;
}
