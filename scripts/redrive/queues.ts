/** Service name of serverless.yml, the first part of every resource name. */
export const SERVICE_NAME = 'image-pipeline';

/** The functions that the raw bucket's notifications reach through the topic (the keys in serverless.yml). */
export const PIPELINE_FUNCTION_KEYS = ['createThumbnail', 'analyzeImage'] as const;

/** Names of a stage's two failure queues, built as custom.names in serverless.yml builds them. */
export function failureQueueNames(
  service: string,
  stage: string,
): { failedInvocations: string; undeliveredEvents: string } {
  return {
    failedInvocations: `${service}-${stage}-failed-invocations`,
    undeliveredEvents: `${service}-${stage}-undelivered-events`,
  };
}

/** Function names the framework gives a stage's functions: `<service>-<stage>-<key>`. */
export function pipelineFunctionNames(service: string, stage: string): string[] {
  return PIPELINE_FUNCTION_KEYS.map((key) => `${service}-${stage}-${key}`);
}
