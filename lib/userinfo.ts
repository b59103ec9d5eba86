import { requireSession } from '#lib/auth/session';
import { type Deps, epochSeconds, type WeChatApiDeps } from '#lib/deps';
import { AppError } from '#lib/errors';
import { logger } from '#lib/log';
import type { Session } from '#lib/store/store';
import { DecryptError, type DecryptFailure, decryptUserData, isRawDataSignatureValid } from '#lib/wechat/user-data';

export interface UserInfoRequest {
  encryptedData: string;
  iv: string;
  rawData?: string | undefined;
  signature?: string | undefined;
}

export interface UserInfoReply {
  pass: boolean;
  userInfo?: Record<string, unknown>;
}

/**
 * Decrypts wx.getUserInfo()'s encryptedData with the session's session_key and,
 * when rawData/signature are sent, checks the signature. Only a passing request
 * returns and saves the profile.
 */
export async function submitUserInfo(
  deps: Deps & Pick<WeChatApiDeps, 'checkSessionKey'>,
  token: string | undefined,
  request: UserInfoRequest,
): Promise<UserInfoReply> {
  const session = await requireSession(deps, token);

  let data: Record<string, unknown>;
  try {
    data = decryptUserData(request.encryptedData, request.iv, session.sessionKey, deps.config.appId);
  } catch (err) {
    if (!(err instanceof DecryptError)) throw err;
    if (WRONG_KEY.has(err.reason) && (await sessionKeyRotated(deps, session))) {
      throw new AppError(
        'SESSION_KEY_EXPIRED',
        'WeChat has replaced this session\'s session_key (wx.login() was called again): call wx.login(), log in again with the new code, then send the data again',
        { reason: err.reason },
      );
    }
    throw new AppError(
      'DECRYPT_FAILED',
      'encryptedData could not be decrypted for this session and app: call wx.login(), log in again, then fetch the data again',
      { reason: err.reason },
    );
  }
  if (typeof data.openId === 'string' && data.openId !== session.openid) {
    throw new AppError('DECRYPT_FAILED', 'encryptedData belongs to another user', { reason: 'OTHER_USER' });
  }

  const signed = request.rawData !== undefined && request.signature !== undefined;
  if (signed && !isRawDataSignatureValid(request.rawData!, request.signature!, session.sessionKey)) {
    return { pass: false };
  }

  const { watermark: _watermark, ...userInfo } = data;
  const saved = await deps.store.saveProfile(session.openid, userInfo, epochSeconds(deps));
  if (!saved) throw new AppError('SESSION_INVALID', 'No user for this session: log in again');
  return { pass: true, userInfo };
}

/** What decryption under a wrong key looks like (a wrong appid or a missing watermark does not). */
const WRONG_KEY = new Set<DecryptFailure>(['BAD_PADDING', 'NOT_JSON']);

/**
 * The usual reason data stops decrypting: the client called wx.login() again
 * and WeChat rotated the session_key. Ask WeChat; if it cannot say, assume not.
 */
async function sessionKeyRotated(deps: Pick<WeChatApiDeps, 'checkSessionKey'>, session: Session): Promise<boolean> {
  try {
    return !(await deps.checkSessionKey(session.openid, session.sessionKey));
  } catch (err) {
    logger.warn('session_key check failed', { code: err instanceof AppError ? err.code : 'INTERNAL', ...(err instanceof AppError ? err.detail : {}) });
    return false;
  }
}
