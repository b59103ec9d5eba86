import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { REPLY_MARGIN_MS, withDeadline } from '#lib/platform/deadline';
import { AppError, type ErrorCode, isAppError } from '#lib/platform/errors';
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
 * Wraps an endpoint: runs it under the request's deadline (Lambda's remaining
 * time less a margin for the reply), turns its result into a 200 and any error
 * into the contract's JSON error, and logs one line per request.
 */
export function httpHandler(endpoint: string, run: (event: APIGatewayProxyEventV2) => Promise<unknown>): HttpHandler {
  return async (event, context) => {
    const started = performance.now();
    if (context) logger.addContext(context);
    let reply: APIGatewayProxyStructuredResultV2;
    let added: LogFields;
    try {
      const budgetMs = context ? context.getRemainingTimeInMillis() - REPLY_MARGIN_MS : undefined;
      const result = await (budgetMs === undefined ? run(event) : beforeDeadline(budgetMs, () => run(event)));
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

/**
 * Every call inside `work` is bounded by the deadline already; this is the
 * backstop for a wait nothing bounds (e.g. a promise started before the
 * request), so that the reply is still ours, half the margin before Lambda's.
 */
function beforeDeadline<T>(budgetMs: number, work: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new AppError('DEADLINE_EXCEEDED', 'The request could not be completed in time: retry in a moment', { budgetMs })),
      Math.max(0, budgetMs + REPLY_MARGIN_MS / 2),
    );
  });
  return Promise.race([withDeadline(Math.max(0, budgetMs), work), late]).finally(() => clearTimeout(timer));
}
