import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { DYNAMODB_CLEANUP_BOUND_MS } from '#lib/aws/dynamodb';
import { AppError } from '#lib/kernel/errors';
import { createLoginCodeStore } from '#lib/session/login-codes';

describe('cleanup writes after a failed login', () => {
  it('giving a code claim back or marking it spent is abandoned after DYNAMODB_CLEANUP_BOUND_MS', async () => {
    // A DynamoDB that never answers: only the send's own abort signal can end the call.
    const db = {
      send: (_command: unknown, options?: { abortSignal?: AbortSignal }) =>
        new Promise((_resolve, reject) => {
          options?.abortSignal?.addEventListener('abort', () => reject(Object.assign(new Error('Request aborted'), { name: 'AbortError' })));
        }),
    } as unknown as DynamoDBDocumentClient;
    const loginCodes = createLoginCodeStore(db, 'l');
    for (const cleanup of [() => loginCodes.release('code-hash', 'claim'), () => loginCodes.spend('code-hash', 'claim')]) {
      const started = performance.now();
      await expect(cleanup()).rejects.toBeInstanceOf(AppError);
      const elapsed = performance.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(DYNAMODB_CLEANUP_BOUND_MS - 50);
      expect(elapsed).toBeLessThan(DYNAMODB_CLEANUP_BOUND_MS + 500);
    }
  });
});
