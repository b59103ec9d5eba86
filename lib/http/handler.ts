import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { STATUS_BY_CODE } from '#lib/http/status';
import { REPLY_MARGIN_MS, withDeadline } from '#lib/kernel/deadline';
import { AppError, type ErrorCode, isAppError } from '#lib/kernel/errors';
import { logFieldsOf, logger, withNotedLogFields } from '#lib/kernel/log';

export type HttpHandler = (event: APIGatewayProxyEventV2, context?: Context) => Promise<APIGatewayProxyStructuredResultV2>;

const HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };

export const jsonReply = (statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 => ({
  statusCode,
  headers: HEADERS,
  body: JSON.stringify(body),
});

/**
 * Wraps an endpoint: runs it under the request's deadline (Lambda's remaining
 * time less a margin for the reply), turns its result into a 200 and any error
 * into the contract's JSON error, and logs one line per request.
 */
export function httpHandler(endpoint: string, run: (event: APIGatewayProxyEventV2) => Promise<unknown>): HttpHandler {
  return async (event, context) => {
    const { status, body } = await runLogged(endpoint, context, () => run(event));
    return jsonReply(status, body);
  };
}

/** One run of an endpoint, HTTP or invoked: its status and JSON body (the result, or the contract's error), and its log line. */
export async function runLogged(
  endpoint: string,
  context: Context | undefined,
  run: () => Promise<unknown>,
): Promise<{ status: number; body: unknown }> {
  const started = performance.now();
  if (context) logger.addContext(context);
  let result: unknown;
  // Fields noted deep inside the request (noteLogField: a WeChat call sent to the backup domain) join its line.
  const budgetMs = context ? context.getRemainingTimeInMillis() - REPLY_MARGIN_MS : undefined;
  const { done, fields: noted } = withNotedLogFields(() => (budgetMs === undefined ? run() : beforeDeadline(budgetMs, run)));
  try {
    result = await done;
  } catch (err) {
    const code: ErrorCode = isAppError(err) ? err.code : 'INTERNAL';
    const status = STATUS_BY_CODE[code];
    const fields = {
      ...noted,
      endpoint,
      status,
      code,
      ...(isAppError(err) ? err.detail : {}),
      durationMs: Math.round(performance.now() - started),
    };
    if (status >= 500) logger.error('request failed', fields, isAppError(err) ? {} : { error: err });
    else logger.info('request refused', fields);
    // Our message for AppErrors, nothing internal for the rest.
    return { status, body: { err: isAppError(err) ? err.message : 'Something went wrong on our side', code } };
  }
  logger.info('request ok', { ...noted, ...logFieldsOf(result), endpoint, status: 200, durationMs: Math.round(performance.now() - started) });
  return { status: 200, body: result };
}

/**
 * Every call inside `work` is bounded by the deadline already; this is the
 * backstop for a wait nothing bounds (e.g. a promise started before the
 * request), so that the reply is still ours, half the margin before Lambda's.
 * `work` runs inside an async function, so even a synchronous throw becomes
 * this request's rejection; the timer is armed only once the work is under
 * way and disarmed however the race ends, so no timer outlives its request
 * (one left armed would reject unhandled later and fail whichever invocation
 * that instance is running then).
 */
async function beforeDeadline<T>(budgetMs: number, work: () => Promise<T>): Promise<T> {
  const running = withDeadline(Math.max(0, budgetMs), async () => work());
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new AppError('DEADLINE_EXCEEDED', 'The request could not be completed in time: retry in a moment', { budgetMs })),
      Math.max(0, budgetMs + REPLY_MARGIN_MS / 2),
    );
  });
  try {
    return await Promise.race([running, late]);
  } finally {
    clearTimeout(timer);
  }
}
