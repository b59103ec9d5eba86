import * as v from 'valibot';
import { noUserForSession, requireSession } from '#lib/auth/session';
import type { WeChatApiDeps } from '#lib/platform/deps';
import { AppError, isAppError } from '#lib/platform/errors';
import { epochSeconds } from '#lib/platform/time';
import type { PhoneNumber } from '#lib/store/users';
import { oneTimeCode } from '#lib/wechat/code';

/** Not wx.login()'s code: the phone button's. */
export const PhoneNumberBody = v.object({ code: oneTimeCode('e.detail.code from <button open-type="getPhoneNumber">') });

/** POST /phonenumber: the code from <button open-type="getPhoneNumber"> -> the user's phone number, saved on the user. */
export async function phoneNumber(
  deps: WeChatApiDeps,
  token: string | undefined,
  body: v.InferOutput<typeof PhoneNumberBody>,
  appHint?: string,
): Promise<PhoneNumber> {
  const session = await requireSession(deps, token, appHint);
  const phone = await deps.getPhoneNumber(session.appid, body.code, session.openid);
  try {
    if (!(await deps.users.savePhoneNumber(session.uid, phone, epochSeconds(deps.now)))) throw noUserForSession();
  } catch (err) {
    throw codeSpent(err);
  }
  return phone;
}

/** WeChat has answered, so the code is spent: retrying this request would get 40163, the user must tap again. */
function codeSpent(err: unknown): unknown {
  if (!isAppError(err)) return err;
  const what = err.code === 'STORAGE_UNAVAILABLE' ? 'The phone number could not be saved: storage is unavailable right now' : err.message;
  return new AppError(err.code, `${what}. WeChat has already spent this code: ask the user to tap the button again`, err.detail, { cause: err });
}
