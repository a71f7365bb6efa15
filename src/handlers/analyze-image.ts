import type { SNSEvent } from 'aws-lambda';

// Placeholder until the label pipeline lands; it keeps packaging and template work unblocked.
export const handler = async (_event: SNSEvent): Promise<void> => {};
