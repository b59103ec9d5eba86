import type { Context } from 'aws-lambda';
import { runLogged } from '#lib/http/handler';

/** A function the team's own services invoke through the AWS SDK (no HTTP route): its event is the request. */
export type InvokeHandler = (event: unknown, context?: Context) => Promise<unknown>;

/**
 * Like httpHandler, for a function without a route: the reply is the JSON body the HTTP API would send,
 * and an error also carries its HTTP status (`{"err", "code", "status"}`), so a caller can branch on it
 * without parsing a FunctionError. Same deadline, same one log line.
 */
export function invokeHandler(endpoint: string, run: (event: unknown) => Promise<unknown>): InvokeHandler {
  return async (event, context) => {
    const { status, body } = await runLogged(endpoint, context, () => run(event));
    return status === 200 ? body : { ...(body as object), status };
  };
}
