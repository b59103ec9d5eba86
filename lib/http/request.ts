import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import * as v from 'valibot';
import { AppError } from '#lib/kernel/errors';

/** Bodies above this are refused with 413 before parsing. */
export const MAX_BODY_BYTES = 32 * 1024;

/**
 * The session token from `Authorization: Bearer <token>` or, for clients of the
 * original app, `?token=`. Undefined when there is none. Two different tokens
 * in one request are a client bug worth naming, not guessing about.
 */
export function readToken(event: APIGatewayProxyEventV2): string | undefined {
  const header = event.headers?.authorization;
  const fromHeader = header ? (/^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] ?? header) : undefined;
  const fromQuery = event.queryStringParameters?.token || undefined;
  if (fromHeader !== undefined && fromQuery !== undefined && fromHeader !== fromQuery) {
    throw new AppError('AMBIGUOUS_TOKEN', 'Two different tokens were sent (Authorization header and ?token=): send one');
  }
  return fromHeader ?? fromQuery;
}

/**
 * The mini-program a request says it comes from (X-WX-AppId). After login only a check: a session
 * works in its own app's scope, and a request naming another app is refused (lib/session/guard.ts).
 */
export const readAppId = (event: APIGatewayProxyEventV2): string | undefined => event.headers?.['x-wx-appid']?.trim() || undefined;

/**
 * The JSON body (or, for older clients, a form-encoded one) validated against a
 * valibot schema. Every failure is a 4xx that names what is wrong.
 */
export function readBody<const TSchema extends v.GenericSchema>(event: APIGatewayProxyEventV2, schema: TSchema): v.InferOutput<TSchema> {
  return bodyReader(event, schema)();
}

/**
 * readBody in two steps, for an endpoint that authenticates first: the size bound now (413, a length check
 * and no parse), the parse and validation when the endpoint calls it, after it has read the session. So a
 * caller without a live session gets its 401 whatever its body holds.
 */
export function bodyReader<const TSchema extends v.GenericSchema>(event: APIGatewayProxyEventV2, schema: TSchema): () => v.InferOutput<TSchema> {
  // API Gateway always sends a string; serverless-offline hands a JSON scalar over as a number or boolean.
  const body: unknown = event.body ?? '';
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  const bytes = event.isBase64Encoded && typeof body === 'string' ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
  if (bytes.length > MAX_BODY_BYTES) {
    throw new AppError('BODY_TOO_LARGE', `The request body is larger than ${MAX_BODY_BYTES} bytes`);
  }
  return () => parseBody(event, bytes, schema);
}

function parseBody<const TSchema extends v.GenericSchema>(event: APIGatewayProxyEventV2, bytes: Buffer, schema: TSchema): v.InferOutput<TSchema> {
  const text = bytes.toString('utf8');
  const contentType = event.headers?.['content-type'] ?? '';

  let value: unknown;
  if (/^application\/x-www-form-urlencoded/i.test(contentType)) {
    value = Object.fromEntries(new URLSearchParams(text));
  } else {
    if (text.trim() === '') throw new AppError('INVALID_JSON', 'The request body is empty: send a JSON object');
    try {
      value = JSON.parse(text);
    } catch {
      throw new AppError('INVALID_JSON', 'The request body is not valid JSON');
    }
  }

  return validated(schema, value);
}

/** A value checked against a valibot schema: a failure is a 400 that names the field and never echoes the input. */
export function validated<const TSchema extends v.GenericSchema>(schema: TSchema, value: unknown): v.InferOutput<TSchema> {
  const result = v.safeParse(schema, value);
  if (!result.success) {
    const issue = result.issues[0];
    const path = issue.path?.map((item: { key: unknown }) => String(item.key)).join('.');
    // valibot's own message for a body that is not an object quotes it ("... but received "<body>""):
    // never echo the client's input back, it may be 32 KiB of anything.
    const message = !path && issue.type === 'object' ? 'The request body must be a JSON object' : issue.message;
    throw new AppError('INVALID_REQUEST', path ? `${path}: ${message}` : message);
  }
  return result.output;
}
