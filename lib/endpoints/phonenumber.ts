import * as v from 'valibot';
import { noUserForSession, requireSession } from '#lib/auth/session';
import type { WeChatApiDeps } from '#lib/platform/deps';
import { epochSeconds } from '#lib/platform/time';
import type { PhoneNumber } from '#lib/store/users';
import { oneTimeCode } from '#lib/wechat/code';

/** Not wx.login()'s code: the phone button's. */
export const PhoneNumberBody = v.object({ code: oneTimeCode('e.detail.code from <button open-type="getPhoneNumber">') });

/** POST /phonenumber: the code from <button open-type="getPhoneNumber"> -> the user's phone number, saved on the user. */
export async function phoneNumber(deps: WeChatApiDeps, token: string | undefined, body: v.InferOutput<typeof PhoneNumberBody>): Promise<PhoneNumber> {
  const session = await requireSession(deps, token);
  const phone = await deps.getPhoneNumber(body.code);
  if (!(await deps.users.savePhoneNumber(session.openid, phone, epochSeconds(deps.now)))) throw noUserForSession();
  return phone;
}
