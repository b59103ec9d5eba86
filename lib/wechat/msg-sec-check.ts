import type { AccessTokens } from '#lib/wechat/access-token';
import { badWeChatAnswer, callWeChat, type WeChatHttpOptions, withBusyRetry } from '#lib/wechat/api';
import { weChatError } from '#lib/wechat/errcodes';

/** What WeChat suggests doing with a text: publish it, have a person look at it, or refuse it. */
export type TextVerdict = 'pass' | 'review' | 'risky';

/** The scenes of msg_sec_check version 2: 1 is a profile (nickname, signature), 2 a comment, 3 a forum post, 4 a social log. */
export const SCENE_PROFILE = 1;

export type CheckText = (openid: string, content: string) => Promise<TextVerdict>;

/**
 * wxa/msg_sec_check, version 2: is a text the user wrote fit to show (scene 1, a profile)? WeChat
 * wants the openid of a user who has used the mini-program in the last two hours, which the caller of
 * PUT /profile is. Only the verdict leaves this function: label, detail and trace_id never reach a reply.
 */
export function createCheckText(http: WeChatHttpOptions, tokens: AccessTokens): CheckText {
  return async (openid, content) => {
    const answer = await withBusyRetry(http, () =>
      tokens.call((accessToken) =>
        callWeChat(
          http,
          '/wxa/msg_sec_check',
          { query: { access_token: accessToken }, json: { content, version: 2, scene: SCENE_PROFILE, openid } },
          'retry in a moment',
        ),
      ),
    );
    if (answer.errcode !== 0) throw weChatError('msg_sec_check', answer);
    const suggest = (answer.body.result as { suggest?: unknown } | undefined)?.suggest;
    if (suggest !== 'pass' && suggest !== 'review' && suggest !== 'risky') {
      throw badWeChatAnswer({ httpStatus: 200, reason: 'no result.suggest', api: 'msg_sec_check' });
    }
    return suggest;
  };
}
