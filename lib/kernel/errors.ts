/**
 * Every failure a client can be told about. The HTTP status for each code
 * lives in one table (lib/http/status.ts); nothing else picks a status.
 */
export type ErrorCode =
  | 'INVALID_JSON'
  | 'INVALID_REQUEST'
  | 'BODY_TOO_LARGE'
  | 'AMBIGUOUS_TOKEN'
  | 'UNAUTHENTICATED'
  | 'SESSION_INVALID'
  | 'SESSION_KEY_EXPIRED'
  | 'INVALID_CODE'
  | 'UNKNOWN_APP'
  | 'CODE_ALREADY_USED'
  | 'INSUFFICIENT_CREDIT'
  | 'IDEMPOTENCY_KEY_REUSED'
  | 'USER_NOT_FOUND'
  | 'USER_HIGH_RISK'
  | 'WECHAT_RATE_LIMITED'
  | 'USER_RATE_LIMITED'
  | 'WECHAT_BAD_RESPONSE'
  | 'WECHAT_UNREACHABLE'
  | 'WECHAT_BUSY'
  | 'WECHAT_TIMEOUT'
  | 'DECRYPT_FAILED'
  | 'CONTENT_REJECTED'
  | 'PHONE_ALREADY_KNOWN'
  | 'PHONE_QUOTA_EXHAUSTED'
  | 'INVALID_IMAGE'
  | 'IMAGE_TOO_LARGE'
  | 'STORAGE_UNAVAILABLE'
  | 'CREDIT_BUSY'
  | 'DEADLINE_EXCEEDED'
  | 'INTERNAL';

/**
 * An error whose message is safe to show a client. `detail` is for logs only
 * (WeChat errcode and rid, a decryption reason, ...) and must never carry a
 * secret, a session_key, a token or a code.
 */
export class AppError extends Error {
  override readonly name = 'AppError';

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly detail: Readonly<Record<string, unknown>> = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export const isAppError = (err: unknown): err is AppError => err instanceof AppError;

/** A missing or malformed setting; thrown at cold start (or on the first use of a lazily read secret). */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}
