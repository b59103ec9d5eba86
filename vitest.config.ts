import { defineConfig } from 'vitest/config';

/** Settings every handler module needs at import; tests hand in their own deps where it matters. */
const env = {
  WECHAT_APPID: 'wx1234567890abcdef',
  WECHAT_SECRET: 'test-app-secret-0123456789',
  SESSIONS_TABLE: 'test-sessions',
  USERS_TABLE: 'test-users',
  LOGINS_TABLE: 'test-logins',
  APP_CACHE_TABLE: 'test-app-cache',
  LEDGER_TABLE: 'test-ledger',
  AVATARS_BUCKET: 'test-avatars',
  POWERTOOLS_LOG_LEVEL: 'SILENT',
  AWS_REGION: 'us-east-1',
  // The SDK nags about Node 20 (this machine's); Lambda runs Node 22.
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};

/** Every project fails a test in which anything rejected unhandled or threw uncaught. */
const setupFiles = ['test/support/fail-on-unhandled.ts'];

export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], env, setupFiles } },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          env,
          setupFiles,
          globalSetup: ['test/support/dynamodb-global-setup.ts', 'test/support/s3-global-setup.ts'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'deploy',
          include: ['test/deploy/**/*.test.ts'],
          env,
          setupFiles,
          // The zipped bundles are also run against DynamoDB Local and s3rver.
          globalSetup: ['test/support/dynamodb-global-setup.ts', 'test/support/s3-global-setup.ts'],
          hookTimeout: 180_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          env,
          setupFiles,
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
