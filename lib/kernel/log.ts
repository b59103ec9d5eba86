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
