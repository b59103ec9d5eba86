import type { TestProject } from 'vitest/node';
import { startLocalS3 } from '../../local/s3.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    s3Endpoint: string;
  }
}

/** One s3rver for the whole run (like DynamoDB Local); each test stack makes its own bucket. */
export default async function setup(project: TestProject) {
  const s3 = await startLocalS3({ buckets: [], keys: DEPLOY_TEST_KEYS });
  project.provide('s3Endpoint', s3.endpoint);
  return () => s3.stop();
}

/** The credentials test/deploy hands the zipped bundles, as Lambda would: s3rver must know the key. */
export const DEPLOY_TEST_KEYS = [{ accessKeyId: 'AKIDDEPLOYTESTONLY01', secretAccessKey: 'deploy-test-secret-access-key/0123456789' }];
