import type { ServerErrorCode } from './error-codes';

/**
 * What a failed call rejects with. `code` is the server's code when it sent one,
 * or one of the client's own:
 * - `NETWORK`: no reply at all (no connection, timeout, `wx.request` failed); `status` 0;
 * - `BAD_RESPONSE`: a reply that is not the API's JSON (a gateway's or proxy's own page);
 * - `WX_LOGIN_FAILED`: `wx.login()` itself failed; `status` 0.
 */
export type ClientErrorCode = ServerErrorCode | 'NETWORK' | 'BAD_RESPONSE' | 'WX_LOGIN_FAILED';

export class ApiError extends Error {
  /** The HTTP status, or 0 when there was no reply. */
  readonly status: number;
  readonly code: ClientErrorCode;

  constructor(status: number, code: ClientErrorCode, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

export const isApiError = (err: unknown): err is ApiError => err instanceof ApiError;
