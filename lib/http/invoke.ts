import type { Context } from 'aws-lambda';
import { runLogged } from '#lib/http/handler';

/** A function the team's own services invoke through the AWS SDK (no HTTP route): its event is the request. */
export type InvokeHandler = (event: unknown, context?: Context) => Promise<unknown>;

/**
 * A 5xx of an invoked function, thrown so that Lambda reports a FunctionError: asynchronous invocations
 * (`InvocationType=Event`, an EventBridge rule) are retried, and a synchronous caller sees the failure.
 * Lambda reports `errorType` (its name: the contract's code) and `errorMessage` (the contract's text),
 * and a trace from its stack, which is that same line: nothing internal.
 */
export class InvocationError extends Error {
  readonly code: string;
  readonly status: number;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = code;
    this.code = code;
    this.status = status;
    this.stack = `${code}: ${message}`;
  }
}

/**
 * Like httpHandler, for a function without a route: the reply is the JSON body the HTTP API would send,
 * and a refusal (4xx) also carries its HTTP status (`{"err", "code", "status"}`), so a caller can branch on it;
 * retrying it would not help. A 5xx (an outage: retrying helps) fails the invocation with an InvocationError.
 * Same deadline, same one log line.
 */
export function invokeHandler(endpoint: string, run: (event: unknown) => Promise<unknown>): InvokeHandler {
  return async (event, context) => {
    const { status, body } = await runLogged(endpoint, context, () => run(event));
    if (status === 200) return body;
    const { err, code } = body as { err: string; code: string };
    if (status >= 500) throw new InvocationError(status, code, err);
    return { err, code, status };
  };
}
