import { requireSession } from '#lib/auth/session';
import { epochSeconds, type WeChatApiDeps } from '#lib/deps';
import { AppError } from '#lib/errors';
import type { PhoneNumber } from '#lib/wechat/phone-number';

/** The code from <button open-type="getPhoneNumber"> -> the user's phone number, saved on the user. */
export async function savePhoneNumber(deps: WeChatApiDeps, token: string | undefined, code: string): Promise<PhoneNumber> {
  const session = await requireSession(deps, token);
  const phone = await deps.getPhoneNumber(code);
  const saved = await deps.store.savePhoneNumber(session.openid, { ...phone }, epochSeconds(deps));
  if (!saved) throw new AppError('SESSION_INVALID', 'No user for this session: log in again');
  return phone;
}
