import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { type ErrorCode, isAppError } from '#lib/platform/errors';
import { STATUS_BY_CODE } from '#lib/platform/http/status';
import { type LogFields, logFieldsOf, logger } from '#lib/platform/log';

export type HttpHandler = (event: APIGatewayProxyEventV2, context?: Context) => Promise<APIGatewayProxyStructuredResultV2>;

const HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };

export const jsonReply = (statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 => ({
  statusCode,
  headers: HEADERS,
  body: JSON.stringify(body),
});

/** What the client sees for an error: our message for AppErrors, nothing internal for the rest. */
export function errorReply(err: unknown): APIGatewayProxyStructuredResultV2 {
  const code: ErrorCode = isAppError(err) ? err.code : 'INTERNAL';
  const message = isAppError(err) ? err.message : 'Something went wrong on our side';
  return jsonReply(STATUS_BY_CODE[code], { err: message, code });
}

/**
 * Wraps an endpoint: runs it, turns its result into a 200 and any error into
 * the contract's JSON error, and logs one line per request.
 */
export function httpHandler(endpoint: string, run: (event: APIGatewayProxyEventV2) => Promise<unknown>): HttpHandler {
  return async (event, context) => {
    const started = performance.now();
    if (context) logger.addContext(context);
    let reply: APIGatewayProxyStructuredResultV2;
    let added: LogFields;
    try {
      const result = await run(event);
      added = logFieldsOf(result);
      reply = jsonReply(200, result);
    } catch (err) {
      reply = errorReply(err);
      const fields = {
        endpoint,
        status: reply.statusCode,
        code: isAppError(err) ? err.code : 'INTERNAL',
        ...(isAppError(err) ? err.detail : {}),
        durationMs: Math.round(performance.now() - started),
      };
      if ((reply.statusCode ?? 500) >= 500) logger.error('request failed', fields, isAppError(err) ? {} : { error: err });
      else logger.info('request refused', fields);
      return reply;
    }
    logger.info('request ok', { ...added, endpoint, status: 200, durationMs: Math.round(performance.now() - started) });
    return reply;
  };
}
