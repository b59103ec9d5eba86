import { AsyncLocalStorage } from 'node:async_hooks';
import { Logger } from '@aws-lambda-powertools/logger';

/**
 * One structured JSON logger per instance. Level from POWERTOOLS_LOG_LEVEL.
 * Nothing may log a secret, session_key, token or code: log what happened
 * (endpoint, outcome, WeChat errcode and rid), never the values that did it.
 */
export const logger = new Logger({ serviceName: 'wechat-login' });

/** Fields an endpoint adds to its request's log line: words for what happened, never a secret, code, token or id. */
export type LogFields = Readonly<Record<string, string | number | boolean>>;

const logFieldsByReply = new WeakMap<object, LogFields>();

/** `reply` itself, unchanged (its JSON never carries them), with fields for httpHandler's 'request ok' line. */
export function withLogFields<T extends object>(reply: T, fields: LogFields): T {
  logFieldsByReply.set(reply, fields);
  return reply;
}

export const logFieldsOf = (reply: unknown): LogFields => (typeof reply === 'object' && reply !== null && logFieldsByReply.get(reply)) || {};

/**
 * Fields noted by code deep inside a request (a WeChat call sent to the backup domain), for that request's one log
 * line, whether it ends in a reply or an error. Request-scoped (AsyncLocalStorage): runLogged opens the scope.
 */
const noted = new AsyncLocalStorage<Record<string, string | number | boolean>>();

/** Runs `work` with a fresh set of noted fields; returns its outcome and the fields noted meanwhile. */
export const withNotedLogFields = <T>(work: () => Promise<T>): { done: Promise<T>; fields: LogFields } => {
  const fields: Record<string, string | number | boolean> = {};
  // Inside an async function: a synchronous throw from `work` is the promise's rejection, as for the request itself.
  return { done: noted.run(fields, async () => work()), fields };
};

/** Notes a field for the current request's log line; a word for what happened, never a secret or an id. No-op outside a request. */
export function noteLogField(name: string, value: string | number | boolean): void {
  const fields = noted.getStore();
  if (fields) fields[name] = value;
}

/** The fields noted so far in the current request (empty outside one). */
export const notedLogFields = (): LogFields => noted.getStore() ?? {};
