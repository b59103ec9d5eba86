import type { Deps, WeChatApiDeps } from '#lib/session/deps';
import { findSessionWith, sessionOnly } from '#lib/session/guard';

export interface CheckLoginReply {
  is_login: boolean;
  /** Only with ?verify=wechat, for a live session: whether WeChat still accepts its session_key. */
  session_key_valid?: boolean;
}

/** GET /checklogin: is the token a live session? With `verify`, also asks WeChat whether its session_key is still current. */
export async function checkLogin(
  deps: Deps & Pick<WeChatApiDeps, 'checkSessionKey'>,
  token: string | undefined,
  verify = false,
  appId?: string,
): Promise<CheckLoginReply> {
  const found = await findSessionWith(deps, token, appId, sessionOnly(deps));
  if (!found) return { is_login: false };
  const { session } = found;
  if (!verify) return { is_login: true };
  return { is_login: true, session_key_valid: await deps.checkSessionKey(session.appid, session.openid, session.sessionKey) };
}
