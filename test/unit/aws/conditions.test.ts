import { describe, expect, it } from 'vitest';
import { conditionFailed } from '#lib/aws/dynamodb-errors';
import { isTransactionConflict } from '#lib/aws/transactions';

// The one "condition failed" check (lib/aws/dynamodb-errors.ts), for single writes and transactions alike.
const named = (name: string, extra: object = {}) => Object.assign(new Error('x'), { name }, extra);

describe('conditionFailed', () => {
  it("is a single write's ConditionalCheckFailedException, nothing else", () => {
    expect(conditionFailed(named('ConditionalCheckFailedException'))).toBe(true);
    expect(conditionFailed(named('ProvisionedThroughputExceededException'))).toBe(false);
    expect(conditionFailed('ConditionalCheckFailedException')).toBe(false);
  });

  it("is, for a cancelled transaction, whether that item's condition failed", () => {
    const cancelled = named('TransactionCanceledException', { CancellationReasons: [{ Code: 'None' }, { Code: 'ConditionalCheckFailed' }] });
    expect(conditionFailed(cancelled, 1)).toBe(true);
    expect(conditionFailed(cancelled, 0)).toBe(false);
    expect(isTransactionConflict(named('TransactionCanceledException', { CancellationReasons: [{ Code: 'TransactionConflict' }] }))).toBe(true);
  });
});
