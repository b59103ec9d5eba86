import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import { freePort } from './ports.ts';

export interface LocalS3 {
  endpoint: string;
  stop(): Promise<void>;
}

/** s3rver knows one key pair (S3RVER); these are the others that sign locally: DynamoDB Local's fixed ones, and any a test sets. */
const LOCAL_KEYS = [{ accessKeyId: 'local', secretAccessKey: 'local' }];

/**
 * Starts s3rver (an S3 emulator from npm) on 127.0.0.1 with the given buckets, its files in a fresh temporary
 * folder that stop() removes. Like DynamoDB Local it takes the functions' own signed requests (it checks that
 * the key is known and that a presigned URL has not expired, not the signature itself: test/unit/aws/s3.test.ts
 * holds the signing to AWS's examples).
 */
export async function startLocalS3(options: {
  buckets: string[];
  port?: number;
  keys?: { accessKeyId: string; secretAccessKey: string }[];
}): Promise<LocalS3> {
  const account = (
    createRequire(import.meta.url)('s3rver/lib/models/account.js') as { DUMMY_ACCOUNT: { createKeyPair(id: string, secret: string): void } }
  ).DUMMY_ACCOUNT;
  for (const { accessKeyId, secretAccessKey } of [...LOCAL_KEYS, ...(options.keys ?? [])]) account.createKeyPair(accessKeyId, secretAccessKey);
  const directory = mkdtempSync(join(tmpdir(), 's3rver-'));
  const port = options.port ?? (await freePort());
  const server = new S3rver({
    address: '127.0.0.1',
    port,
    silent: true,
    directory,
    resetOnClose: true,
    // Path-style only (http://127.0.0.1:<port>/<bucket>/<key>), as lib/aws/s3.ts addresses a local endpoint.
    vhostBuckets: false,
    configureBuckets: options.buckets.map((name) => ({ name, configs: [] })),
  });
  await server.run();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    async stop() {
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
