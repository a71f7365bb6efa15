import type { ContentHandling } from './template-model';

/** The media type of a Content-Type or Accept entry, lower case, without parameters. */
export function mediaType(header: string | undefined): string | undefined {
  const type = header?.split(';')[0]?.trim().toLowerCase();
  return type === undefined || type === '' ? undefined : type;
}

/** The first media type of an Accept header: API Gateway reads only the first one. */
export function firstAcceptedType(accept: string | undefined): string | undefined {
  return mediaType(accept?.split(',')[0]);
}

/** Whether a media type is in the RestApi's BinaryMediaTypes, which may hold wildcards (`image/*`, `*\/*`). */
export function isBinaryMediaType(type: string | undefined, binaryMediaTypes: string[]): boolean {
  if (type === undefined) return false;
  const [major, minor] = type.split('/');
  return binaryMediaTypes.some((entry) => {
    const [entryMajor, entryMinor] = entry.toLowerCase().split('/');
    return (entryMajor === '*' || entryMajor === major) && (entryMinor === '*' || entryMinor === minor);
  });
}

/** A payload and whether API Gateway treats it as binary. */
export interface Payload {
  bytes: Buffer;
  binary: boolean;
}

/**
 * Converts the method request payload into the integration request payload by the request table of "Content type
 * conversions in API Gateway": CONVERT_TO_TEXT base64-encodes a binary payload, CONVERT_TO_BINARY base64-decodes a
 * text payload, and anything else passes unchanged.
 */
export function convertRequestPayload(payload: Payload, handling: ContentHandling | undefined): Payload {
  if (handling === 'CONVERT_TO_TEXT' && payload.binary)
    return { bytes: Buffer.from(payload.bytes.toString('base64')), binary: false };
  if (handling === 'CONVERT_TO_BINARY' && !payload.binary)
    return { bytes: Buffer.from(payload.bytes.toString('utf8'), 'base64'), binary: true };
  return payload;
}

/**
 * Converts the integration response payload into the method response payload by the response table of "Content type
 * conversions in API Gateway", where the first Accept type decides whether the client wants binary.
 */
export function convertResponsePayload(
  payload: Payload,
  acceptBinary: boolean,
  handling: ContentHandling | undefined,
  binaryMediaTypesSet: boolean,
): Payload {
  const toBase64Text = (): Payload => ({
    bytes: Buffer.from(payload.bytes.toString('base64')),
    binary: false,
  });
  const fromBase64Text = (): Payload => ({
    bytes: Buffer.from(payload.bytes.toString('utf8'), 'base64'),
    binary: true,
  });
  if (handling === 'CONVERT_TO_BINARY') return payload.binary ? payload : fromBase64Text();
  if (handling === 'CONVERT_TO_TEXT') return payload.binary ? toBase64Text() : payload;
  if (!binaryMediaTypesSet) {
    // With no binary media types every payload goes out as a UTF-8 string, so bytes that are not UTF-8 are lost.
    return { bytes: Buffer.from(payload.bytes.toString('utf8')), binary: false };
  }
  if (payload.binary) return acceptBinary ? payload : toBase64Text();
  return acceptBinary ? fromBase64Text() : payload;
}
