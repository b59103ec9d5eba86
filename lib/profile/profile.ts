import { withLogFields } from '#lib/kernel/log';
import type { ProfileDeps } from '#lib/profile/deps';
import { type Profile, sessionWithProfile } from '#lib/profile/profile-store';
import { requireSessionWith } from '#lib/session/guard';

/** What GET /profile (and PUT /profile) answer. */
export interface ProfileReply {
  nickName?: string;
  /** A presigned GET of the avatar, for <image src>: it works without headers until it expires (AVATAR_URL_TTL_SECONDS). */
  avatarUrl?: string;
  /** Whether the user's phone number is known (then the mini-program hides the getPhoneNumber button), and masked. */
  phone: { known: boolean; masked?: string };
}

/** "13800138000" -> "138****8000": the first 3 and the last 4 digits; a short number keeps its last 2 only. */
export function maskPhone(digits: string): string {
  if (digits.length >= 8) return `${digits.slice(0, 3)}${'*'.repeat(digits.length - 7)}${digits.slice(-4)}`;
  return `${'*'.repeat(Math.max(0, digits.length - 2))}${digits.slice(-2)}`;
}

/** The reply for a profile: the avatar's key becomes a fresh presigned URL (signing is local: no round-trip). */
export async function profileReply(deps: ProfileDeps, profile: Profile): Promise<ProfileReply> {
  const reply: ProfileReply = {
    ...(profile.nickName !== undefined ? { nickName: profile.nickName } : {}),
    ...(profile.avatarKey !== undefined ? { avatarUrl: await deps.avatars.url(profile.avatarKey) } : {}),
    phone: profile.purePhoneNumber !== undefined ? { known: true, masked: maskPhone(profile.purePhoneNumber) } : { known: false },
  };
  return withLogFields(reply, { phoneKnown: reply.phone.known, hasAvatar: profile.avatarKey !== undefined });
}

/** GET /profile: the caller's nickname, avatar URL and whether their phone number is known. */
export async function getProfile(deps: ProfileDeps, token: string | undefined, appId?: string): Promise<ProfileReply> {
  const { user: profile } = await requireSessionWith(deps, token, appId, sessionWithProfile(deps));
  return profileReply(deps, profile);
}
