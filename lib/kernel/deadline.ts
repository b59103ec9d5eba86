import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Every request's deadline: the moment, on the real clock (performance.now()),
 * by which it must have its reply. Lambda's timeout must never be what ends a
 * request (the client would get API Gateway's bare 500 and we no log line), so
 * each DynamoDB, WeChat and SSM call, and every wait, takes the lesser of its
 * own bound and what is left. Held in AsyncLocalStorage so that the clients,
 * made once per instance, see the deadline of the request they are working for.
 */
const current = new AsyncLocalStorage<number>();

/** Kept free for the reply itself (logging, serialising, API Gateway), out of Lambda's remaining time. */
export const REPLY_MARGIN_MS = 500;

/** Runs `work` under a deadline `budgetMs` from now. */
export const withDeadline = <T>(budgetMs: number, work: () => Promise<T>): Promise<T> => current.run(performance.now() + budgetMs, work);

/** What is left of the current request's time; Infinity outside a request (e.g. the init phase). */
export function remainingMs(): number {
  const deadline = current.getStore();
  return deadline === undefined ? Number.POSITIVE_INFINITY : Math.max(0, deadline - performance.now());
}

/** The lesser of a call's own bound and what is left of the request. */
export const boundedMs = (ownBoundMs: number): number => Math.min(ownBoundMs, remainingMs());

/** An AbortSignal for one call: aborts at its own bound or at the request's deadline, whichever comes first. */
export const boundedSignal = (ownBoundMs: number): AbortSignal => AbortSignal.timeout(Math.floor(boundedMs(ownBoundMs)));
