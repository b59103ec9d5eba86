import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type busboy from 'busboy';
import { AppError } from '#lib/kernel/errors';

/** What a multipart body may carry besides the file: wx.uploadFile's formData is a few short fields. */
export const MULTIPART_OVERHEAD_BYTES = 64 * 1024;
const MAX_FIELDS = 16;
const MAX_FIELD_BYTES = 4096;

export interface Upload {
  /** The file's bytes, at most `maxFileBytes` of them (the parser stops one byte after). */
  bytes: Buffer;
  /** The file was longer than `maxFileBytes` (and `bytes` is cut there). */
  tooLarge: boolean;
}

const refused = (message: string) => new AppError('INVALID_REQUEST', message);

/**
 * The one file a multipart/form-data body carries in `field`, as wx.uploadFile sends it
 * (`name: 'file'`). API Gateway hands such a body over base64-encoded. Every failure is a 4xx
 * naming what is wrong: not multipart, a body over the bound, malformed, no file or two files,
 * a file under another name, too many or too long form fields. What the part claims to be
 * (filename, content type) is not trusted and not returned: the caller checks the bytes.
 *
 * In two steps, for an endpoint that authenticates first: the size bound now (413, arithmetic on the body's
 * length, nothing decoded), the decoding and parsing when the endpoint calls the reader, after it has read
 * the session. So a caller without a live session gets its 401 whatever its body holds.
 */
export function uploadReader(event: APIGatewayProxyEventV2, options: { field: string; maxFileBytes: number }): () => Promise<Upload> {
  const maxBodyBytes = options.maxFileBytes + MULTIPART_OVERHEAD_BYTES;
  const raw = typeof event.body === 'string' ? event.body : '';
  // Bounded before decoding: base64 is 4/3 of the bytes.
  if ((event.isBase64Encoded ? Math.floor((raw.length * 3) / 4) : Buffer.byteLength(raw, 'utf8')) > maxBodyBytes + 3) {
    throw new AppError('BODY_TOO_LARGE', `The request body is larger than ${maxBodyBytes} bytes`);
  }
  return () => parseUpload(event, raw, maxBodyBytes, options);
}

async function parseUpload(
  event: APIGatewayProxyEventV2,
  raw: string,
  maxBodyBytes: number,
  options: { field: string; maxFileBytes: number },
): Promise<Upload> {
  const contentType = event.headers?.['content-type'] ?? '';
  if (!/^multipart\/form-data\s*;/i.test(contentType) || !/boundary=/i.test(contentType)) {
    throw refused(`Send the image as multipart/form-data (wx.uploadFile), in the field "${options.field}"`);
  }
  const body = event.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
  if (body.length > maxBodyBytes) throw new AppError('BODY_TOO_LARGE', `The request body is larger than ${maxBodyBytes} bytes`);

  // Loaded at the first upload, not at cold start: the parser (and what it requires) is no init work of the function.
  const { default: makeParser } = await import('busboy');
  let parser: busboy.Busboy;
  try {
    parser = makeParser({
      headers: { 'content-type': contentType },
      // One byte over the bound tells a file of exactly maxFileBytes from a longer one.
      limits: {
        files: 1,
        fileSize: options.maxFileBytes + 1,
        fields: MAX_FIELDS,
        fieldSize: MAX_FIELD_BYTES,
        parts: MAX_FIELDS + 2,
        headerPairs: 20,
      },
    });
  } catch {
    throw refused('The multipart/form-data content type is malformed (no usable boundary)');
  }
  return new Promise<Upload>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let files = 0;
    let tooLarge = false;
    let failure: AppError | undefined;
    const fail = (error: AppError) => {
      failure ??= error;
    };
    parser.on('file', (name, stream) => {
      files += 1;
      if (name !== options.field) fail(refused(`The file must be in the field "${options.field}"`));
      stream.on('data', (chunk: Buffer) => {
        if (name === options.field) chunks.push(chunk);
      });
      stream.on('limit', () => {
        tooLarge = true;
      });
      // A body that ends inside the file fails the file's stream too: without a listener that is an uncaught error.
      stream.on('error', () => fail(refused('The multipart/form-data body is malformed (it ends inside the file)')));
    });
    parser.on('field', (_name, _value, info) => {
      if (info.nameTruncated || info.valueTruncated) fail(refused(`A form field is longer than ${MAX_FIELD_BYTES} bytes`));
    });
    parser.on('filesLimit', () => fail(refused(`Send one file, in the field "${options.field}"`)));
    parser.on('fieldsLimit', () => fail(refused(`More than ${MAX_FIELDS} form fields`)));
    parser.on('partsLimit', () => fail(refused(`Send one file, in the field "${options.field}", and at most ${MAX_FIELDS} form fields`)));
    parser.on('error', () => reject(failure ?? refused('The multipart/form-data body is malformed')));
    parser.on('close', () => {
      if (failure) return reject(failure);
      if (files === 0)
        return reject(refused(`No file in the field "${options.field}": send the image as wx.uploadFile does (name: '${options.field}')`));
      const bytes = Buffer.concat(chunks);
      resolve({ bytes: bytes.subarray(0, options.maxFileBytes), tooLarge: tooLarge || bytes.length > options.maxFileBytes });
    });
    parser.end(body);
  });
}
