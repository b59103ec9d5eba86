import * as v from 'valibot';
import { AppError } from '#lib/kernel/errors';
import { logger } from '#lib/kernel/log';
import { epochSeconds } from '#lib/kernel/time';
import type { Deps, WeChatApiDeps } from '#lib/session/deps';
import { noUserForSession, requireSessionWith, sessionOnly } from '#lib/session/guard';
import type { Session } from '#lib/session/session-store';
import type { UserInfo } from '#lib/session/users';
import { DecryptError, type DecryptFailure, decryptUserData, isRawDataSignatureValid } from '#lib/wechat/user-data';

const base64 = (field: string, max: number) =>
  v.pipe(v.string(`${field} must be a string`), v.minLength(1, `${field} is empty`), v.maxLength(max, `${field} is longer than ${max} characters`));

/** What wx.getUserInfo({ withCredentials: true }) gives the client, as it gives it. */
export const UserInfoBody = v.pipe(
  v.object({
    encryptedData: base64('encryptedData', 24 * 1024),
    iv: base64('iv', 64),
    rawData: v.optional(v.pipe(v.string('rawData must be a string'), v.maxLength(8 * 1024, 'rawData is longer than 8192 characters'))),
    signature: v.optional(v.pipe(v.string('signature must be a string'), v.maxLength(64, 'signature is longer than 64 characters'))),
  }),
  v.check((body) => (body.rawData === undefined) === (body.signature === undefined), 'rawData and signature go together: send both or neither'),
);
export type UserInfoRequest = v.InferOutput<typeof UserInfoBody>;

export interface UserInfoReply {
  pass: boolean;
  userInfo?: UserInfo;
}

/**
 * POST /userinfo: decrypts wx.getUserInfo()'s encryptedData with the session's session_key and,
 * when rawData/signature are sent, checks the signature. Only a passing request
 * returns and saves the profile.
 */
export async function userInfo(
  deps: Deps & Pick<WeChatApiDeps, 'checkSessionKey'>,
  token: string | undefined,
  readRequest: () => UserInfoRequest,
  appId?: string,
): Promise<UserInfoReply> {
  const { session } = await requireSessionWith(deps, token, appId, sessionOnly(deps));
  const request = readRequest();

  let data: Record<string, unknown>;
  try {
    data = decryptUserData(request.encryptedData, request.iv, session.sessionKey, session.appid);
  } catch (err) {
    if (!(err instanceof DecryptError)) throw err;
    if (WRONG_KEY.has(err.reason) && (await sessionKeyRotated(deps, session))) {
      throw new AppError(
        'SESSION_KEY_EXPIRED',
        "WeChat has replaced this session's session_key (wx.login() was called again): call wx.login(), log in again with the new code, then send the data again",
        { reason: err.reason },
      );
    }
    throw new AppError(
      'DECRYPT_FAILED',
      'encryptedData could not be decrypted for this session and app: call wx.login(), log in again, then fetch the data again',
      { reason: err.reason },
    );
  }
  // WeChat encrypts other open data (WeRun steps, group ids, the old phone payload) under the same
  // session_key; only a profile carries openId, so only that may pass and replace the saved profile.
  if (typeof data.openId !== 'string') {
    throw new AppError(
      'INVALID_REQUEST',
      'encryptedData: expected wx.getUserInfo() data (with openId), got other open data (such as WeRun steps, group or phone-number data): send what wx.getUserInfo({ withCredentials: true }) gives',
      { reason: 'NOT_USER_INFO' },
    );
  }
  if (data.openId !== session.openid) {
    throw new AppError('DECRYPT_FAILED', 'encryptedData belongs to another user', { reason: 'OTHER_USER' });
  }

  const signed = request.rawData !== undefined && request.signature !== undefined;
  if (signed && !isRawDataSignatureValid(request.rawData!, request.signature!, session.sessionKey)) {
    return { pass: false };
  }

  const { watermark: _watermark, ...decrypted } = data;
  if (!(await deps.users.saveUserInfo(session.uid, decrypted, epochSeconds(deps.now)))) throw noUserForSession();
  return { pass: true, userInfo: decrypted };
}

/** What decryption under a wrong key looks like (a wrong appid or a missing watermark does not). */
const WRONG_KEY = new Set<DecryptFailure>(['BAD_PADDING', 'NOT_JSON']);

/**
 * The usual reason data stops decrypting: the client called wx.login() again
 * and WeChat rotated the session_key. Ask WeChat; if it cannot say, assume not.
 */
async function sessionKeyRotated(deps: Pick<WeChatApiDeps, 'checkSessionKey'>, session: Session): Promise<boolean> {
  try {
    return !(await deps.checkSessionKey(session.appid, session.openid, session.sessionKey));
  } catch (err) {
    logger.warn('session_key check failed', {
      code: err instanceof AppError ? err.code : 'INTERNAL',
      ...(err instanceof AppError ? err.detail : {}),
    });
    return false;
  }
}
