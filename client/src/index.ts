/**
 * The mini-program side of this backend: one login at a time, the token kept
 * with its expiry, one transparent re-login on a refused session, typed errors.
 * No runtime dependencies; nothing is logged.
 */
export { ApiError, type ClientErrorCode, isApiError } from './api-error';
export {
  type AvatarReply,
  type CheckinReply,
  type CheckLoginReply,
  type Client,
  type ClientOptions,
  type CreditEntry,
  type CreditReply,
  createClient,
  type HistoryReply,
  type LoginReply,
  type LogoutReply,
  type PhoneNumberReply,
  type ProfileReply,
  type RequestOptions,
  type SpendOptions,
  type SpendReply,
  type UserData,
  type UserInfoReply,
} from './client';
export type { ServerErrorCode } from './error-codes';
export type { HttpMethod, WxLike, WxRequestOptions, WxUploadOptions } from './wx';
