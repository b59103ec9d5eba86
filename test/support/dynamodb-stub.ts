import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

// DynamoDB Local serialises transactions, so it never produces the TransactionConflict
// that real DynamoDB gives two simultaneous logins of one user: stub the client here.
export const conflict = () =>
  new TransactionCanceledException({
    message: 'Transaction cancelled',
    $metadata: {},
    CancellationReasons: [{ Code: 'None' }, { Code: 'TransactionConflict' }],
  });

export function stubClient(outcomes: (Error | undefined)[]) {
  const calls: unknown[] = [];
  const db = {
    send: async (command: unknown) => {
      calls.push(command);
      const outcome = outcomes.shift();
      if (outcome) throw outcome;
      return {};
    },
  } as unknown as DynamoDBDocumentClient;
  return { db, calls };
}

export const TABLES = { sessions: 's', users: 'u', logins: 'l', ledger: 'g' };

/** Pauses recorded, not waited: the stores' backoffs run on this injected sleep (lib/kernel/time.ts Waits). */
export function recordedPauses() {
  const pauses: number[] = [];
  return { pauses, sleep: async (ms: number) => void pauses.push(ms) };
}
