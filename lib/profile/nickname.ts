import * as v from 'valibot';
import { AppError } from '#lib/kernel/errors';
import { characters, isPlainText } from '#lib/kernel/text';
import { epochSeconds } from '#lib/kernel/time';
import type { ProfileDeps } from '#lib/profile/deps';
import { type ProfileReply, profileReply } from '#lib/profile/profile';
import { sessionWithProfile } from '#lib/profile/profile-store';
import type { WeChatApiDeps } from '#lib/session/deps';
import { noUserForSession, requireSessionWith } from '#lib/session/guard';

export const MAX_NICKNAME_CHARACTERS = 32;
const HOUR_MS = 3_600_000;

/** From <input type="nickname">: trimmed, 1-32 characters of plain text (lib/kernel/text.ts: nothing invisible or direction-changing). */
export const NicknameBody = v.object({
  nickName: v.pipe(
    v.string('nickName must be a string: the value of <input type="nickname">'),
    v.trim(),
    v.check((text) => characters(text) >= 1, 'nickName is empty'),
    v.check((text) => characters(text) <= MAX_NICKNAME_CHARACTERS, `nickName is longer than ${MAX_NICKNAME_CHARACTERS} characters`),
    v.check(
      isPlainText,
      'nickName must not contain control, invisible or direction-changing characters, private-use characters or stacked combining marks',
    ),
  ),
});

/**
 * PUT /profile {"nickName"}: the nickname the user typed, checked by WeChat's msg_sec_check (version 2,
 * scene 1, the user's openid) before anything is saved. "risky" is refused, and so is "review" unless
 * NICKNAME_REVIEW=accept; WeChat failing is the contract's 5xx, with nothing saved.
 */
export async function setNickname(
  deps: ProfileDeps & WeChatApiDeps,
  token: string | undefined,
  readBody: () => v.InferOutput<typeof NicknameBody>,
  appId?: string,
): Promise<ProfileReply> {
  const { session, user: profile } = await requireSessionWith(deps, token, appId, sessionWithProfile(deps));
  // Read after the session: a caller without one learns nothing of its body's faults.
  const body = readBody();
  // Counted before WeChat is asked: each check is a call on the app's quota, refused or not.
  if (!(await deps.userLimits.take(session.uid, 'nickNameChecks', deps.config.userLimits.nicknameChecksPerHour, HOUR_MS, deps.now()))) {
    throw new AppError(
      'USER_RATE_LIMITED',
      `This user has had ${deps.config.userLimits.nicknameChecksPerHour} nicknames checked within the hour: try again in an hour`,
    );
  }
  const verdict = await deps.checkText(session.appid, session.openid, body.nickName);
  if (verdict === 'risky' || (verdict === 'review' && deps.config.nicknameReview === 'reject')) {
    // The verdict is for the log line; the client learns only that the nickname was refused.
    throw new AppError('CONTENT_REJECTED', 'This nickname was refused: choose another one', { verdict });
  }
  if (!(await deps.profiles.saveNickName(session.uid, body.nickName, epochSeconds(deps.now)))) throw noUserForSession();
  return profileReply(deps, { ...profile, nickName: body.nickName });
}
