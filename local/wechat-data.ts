import { createCipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * What WeChat's client does for wx.getUserInfo(): encrypt the profile with the
 * user's session_key (AES-128-CBC, PKCS#7) and sign rawData. Used by the fake
 * WeChat, `npm run try` and the tests; the backend only ever decrypts.
 */
export interface SignedUserData {
  encryptedData: string;
  iv: string;
  rawData: string;
  signature: string;
}

export function encryptUserData(data: Record<string, unknown>, sessionKey: string, iv = randomBytes(16)): string {
  const cipher = createCipheriv('aes-128-cbc', Buffer.from(sessionKey, 'base64'), iv);
  return Buffer.concat([cipher.update(JSON.stringify(data), 'utf8'), cipher.final()]).toString('base64');
}

export function signRawData(rawData: string, sessionKey: string): string {
  return createHash('sha1')
    .update(rawData + sessionKey, 'utf8')
    .digest('hex');
}

/** A complete wx.getUserInfo()-style payload for one user, as WeChat would hand it to the mini-program. */
export function userInfoPayload(options: {
  openid: string;
  appId: string;
  sessionKey: string;
  nickName: string;
  unionid?: string;
  now?: number;
}): SignedUserData {
  const profile = {
    nickName: options.nickName,
    gender: 0,
    language: 'zh_CN',
    city: 'Shenzhen',
    province: 'Guangdong',
    country: 'CN',
    avatarUrl: `https://thirdwx.qlogo.cn/mmopen/vi_32/${encodeURIComponent(options.nickName)}/132`,
  };
  const iv = randomBytes(16);
  const rawData = JSON.stringify(profile);
  const data = {
    openId: options.openid,
    ...profile,
    ...(options.unionid ? { unionId: options.unionid } : {}),
    watermark: { appid: options.appId, timestamp: Math.floor((options.now ?? Date.now()) / 1000) },
  };
  return {
    encryptedData: encryptUserData(data, options.sessionKey, iv),
    iv: iv.toString('base64'),
    rawData,
    signature: signRawData(rawData, options.sessionKey),
  };
}

/** Other open data WeChat encrypts under the same session_key; none of it is a profile. */
export type OtherOpenData = 'werun' | 'group' | 'phone';

/** What wx.getWeRunData(), a share ticket's wx.getGroupEnterInfo() or the old getPhoneNumber button gives the client. */
export function otherOpenDataPayload(kind: OtherOpenData, options: { appId: string; sessionKey: string; now?: number }) {
  const watermark = { appid: options.appId, timestamp: Math.floor((options.now ?? Date.now()) / 1000) };
  const data = {
    werun: { stepInfoList: [{ timestamp: watermark.timestamp - 86_400, step: 8_345 }], watermark },
    group: { openGId: 'tGh2mDp9cJ8Kq0Lx4Vb7Zs1Wn3Ye', watermark },
    phone: { phoneNumber: '+8613800138000', purePhoneNumber: '13800138000', countryCode: '86', watermark },
  }[kind];
  const iv = randomBytes(16);
  return { encryptedData: encryptUserData(data, options.sessionKey, iv), iv: iv.toString('base64') };
}
