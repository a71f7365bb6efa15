import { Logger } from '@aws-lambda-powertools/logger';

/** One logger per function module; the service name comes from POWERTOOLS_SERVICE_NAME when set. */
export function createLogger(functionName: string): Logger {
  return new Logger({
    serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'image-pipeline',
    persistentKeys: { functionName },
  });
}
