import { requireSession } from '#lib/auth/session';
import { type Deps, epochSeconds } from '#lib/deps';
import { AppError } from '#lib/errors';
import { DecryptError, decryptUserData, isRawDataSignatureValid } from '#lib/wechat/user-data';

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
export async function submitUserInfo(deps: Deps, token: string | undefined, request: UserInfoRequest): Promise<UserInfoReply> {
  const session = await requireSession(deps, token);

  let data: Record<string, unknown>;
  try {
    data = decryptUserData(request.encryptedData, request.iv, session.sessionKey, deps.config.appId);
  } catch (err) {
    if (!(err instanceof DecryptError)) throw err;
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
