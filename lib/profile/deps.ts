import type { AvatarStore } from '#lib/profile/avatar-store';
import type { ProfileStore } from '#lib/profile/profile-store';
import type { UserLimitStore } from '#lib/profile/user-limits';
import type { Deps, SessionConfig } from '#lib/session/deps';

/** The avatar bucket and its bounds (POST /profile/avatar, and the avatarUrl of every profile reply). */
export interface AvatarConfig {
  bucket: string;
  /** Set only for a local S3 (s3rver): path-style URLs on it. Unset in AWS (virtual-hosted URLs of the region). */
  s3Endpoint: string | undefined;
  /** Largest image accepted, in bytes. */
  maxBytes: number;
  /** Lifetime of a presigned avatarUrl. */
  urlTtlSeconds: number;
}

/** The settings the profile feature reads (lib/config.ts reads them all). */
export interface ProfileConfig extends SessionConfig {
  avatars: AvatarConfig;
  /** What a nickname that msg_sec_check answers "review" for gets: saved (accept) or refused like "risky" (reject). */
  nicknameReview: 'accept' | 'reject';
  /** Per-user bounds on WeChat's paid or quota-bound calls. */
  userLimits: UserLimitsConfig;
}

export interface UserLimitsConfig {
  /** msg_sec_check calls (PUT /profile) per user per hour. */
  nicknameChecksPerHour: number;
  /** getuserphonenumber exchanges (POST /phonenumber, billed by WeChat) per user per day. */
  phoneNumbersPerDay: number;
}

/** For the profile endpoints: the session read with the user's profile, and the avatar bucket. */
export interface ProfileDeps extends Deps<ProfileConfig> {
  profiles: ProfileStore;
  avatars: AvatarStore;
  /** Per-user bounds on WeChat's paid or quota-bound calls (nickname checks, phone-number exchanges). */
  userLimits: UserLimitStore;
}
