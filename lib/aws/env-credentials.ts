/**
 * The deployed bundles' stand-in for @aws-sdk/credential-provider-node: the
 * SDK's default credential provider reduced to the one source Lambda uses, its
 * environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN).
 *
 * serverless.yml's custom.esbuild `alias` resolves that package to this file
 * when bundling, so the rest of the default chain (SSO, INI profiles,
 * credential_process, web identity, container and instance metadata, and the
 * STS / SSO clients of @aws-sdk/nested-clients behind them) never reaches a
 * bundle. Code run unbundled (tests, the bench's warm run) keeps the SDK's full
 * chain. If a client ever imports another name from that package, esbuild fails
 * the build instead of shipping a half-replaced chain.
 */
import { type FromEnvInit, fromEnv } from '@aws-sdk/credential-provider-env';
import type { AwsCredentialIdentityProvider } from '@smithy/types';

/** What each SDK client's runtimeConfig imports as its credentialDefaultProvider. */
export const defaultProvider = (init?: FromEnvInit): AwsCredentialIdentityProvider => fromEnv(init);
