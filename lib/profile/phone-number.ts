import * as v from 'valibot';
import { AppError, isAppError } from '#lib/kernel/errors';
import { epochSeconds } from '#lib/kernel/time';
import type { ProfileDeps } from '#lib/profile/deps';
import { sessionWithProfile } from '#lib/profile/profile-store';
import type { WeChatApiDeps } from '#lib/session/deps';
import { noUserForSession, requireSessionWith } from '#lib/session/guard';
import type { PhoneNumber } from '#lib/session/users';
import { oneTimeCode } from '#lib/wechat/code';

const DAY_MS = 86_400_000;

/** Not wx.login()'s code: the phone button's. `replace: true` to replace a number already known (each exchange costs money). */
export const PhoneNumberBody = v.object({
  code: oneTimeCode('e.detail.code from <button open-type="getPhoneNumber">'),
  replace: v.optional(v.boolean('replace must be true or false')),
});

/**
 * POST /phonenumber: the code from <button open-type="getPhoneNumber"> -> the user's phone number, saved on
 * the user. Each successful exchange is billed by WeChat, so a user whose number is known already is refused
 * (409 PHONE_ALREADY_KNOWN) without asking WeChat, unless the request says `replace: true`.
 */
export async function phoneNumber(
  deps: ProfileDeps & WeChatApiDeps,
  token: string | undefined,
  readBody: () => v.InferOutput<typeof PhoneNumberBody>,
  appId?: string,
): Promise<PhoneNumber> {
  // The session and whether a number is known, in one round-trip.
  const { session, user: profile } = await requireSessionWith(deps, token, appId, sessionWithProfile(deps));
  const body = readBody();
  if (profile.purePhoneNumber !== undefined && body.replace !== true) {
    throw new AppError(
      'PHONE_ALREADY_KNOWN',
      'This user\'s phone number is already known (GET /profile says phone.known: hide the button): send "replace": true to replace it. WeChat was not asked, nothing was charged',
    );
  }
  // Counted before WeChat is asked: each exchange is billed (¥0.03 past the free quota), replace: true included.
  if (!(await deps.userLimits.take(session.uid, 'phoneNumberExchanges', deps.config.userLimits.phoneNumbersPerDay, DAY_MS, deps.now()))) {
    throw new AppError(
      'USER_RATE_LIMITED',
      `This user's phone number was asked of WeChat ${deps.config.userLimits.phoneNumbersPerDay} times within the day: try again in a day. WeChat was not asked, nothing was charged`,
    );
  }
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
