import { httpHandler } from '#lib/http/handler';
import { bodyReader, readAppId, readToken } from '#lib/http/request';
import { UserInfoBody, userInfo } from '#lib/profile/userinfo';
import type { WeChatApiDeps } from '#lib/session/deps';
import { weChatApiDeps } from '#lib/wiring';

/** POST /userinfo {"encryptedData", "iv", "rawData"?, "signature"?} -> {"pass", "userInfo"?} (legacy wx.getUserInfo data) */
export const createHandler = (deps: WeChatApiDeps) =>
  httpHandler('userinfo', async (event) => userInfo(deps, readToken(event), bodyReader(event, UserInfoBody), readAppId(event)));

export const handler = createHandler(weChatApiDeps());
