import type { AccessTokens } from '#lib/wechat/access-token';
import { badWeChatAnswer, callWeChat, type WeChatHttpOptions } from '#lib/wechat/api';
import { weChatError } from '#lib/wechat/errcodes';

/** The user's openid and the IP its request came from -> WeChat's risk rank for a registration, 0 (none) to 4 (highest). */
export type UserRiskRank = (openid: string, clientIp: string) => Promise<number>;

/**
 * wxa/getuserriskrank, scene 0 (registration). No busy retry: the caller bounds it tightly and
 * decides without it (lib/credit/signup.ts), so a login never waits on a second attempt.
 */
export function createUserRiskRank(http: WeChatHttpOptions, tokens: AccessTokens, appId: string): UserRiskRank {
  return async (openid, clientIp) => {
    const answer = await tokens.call((accessToken) =>
      callWeChat(
        http,
        '/wxa/getuserriskrank',
        { query: { access_token: accessToken }, json: { appid: appId, openid, scene: 0, client_ip: clientIp } },
        'retry in a moment',
      ),
    );
    if (answer.errcode !== 0) throw weChatError('getuserriskrank', answer);
    const rank = answer.body.risk_rank;
    if (typeof rank !== 'number' || !Number.isInteger(rank) || rank < 0 || rank > 4) {
      throw badWeChatAnswer({ httpStatus: 200, reason: 'no risk_rank from 0 to 4', api: 'getuserriskrank' });
    }
    return rank;
  };
}
