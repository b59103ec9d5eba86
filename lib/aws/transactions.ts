import { errorName } from '#lib/aws/dynamodb-errors';

/** Why each item of a cancelled transaction failed, in the order of its items; Item is the raw (marshalled) item when it was asked for. */
export interface CancellationReason {
  Code?: string;
  Item?: Record<string, never>;
}

export const cancellationReasons = (err: unknown): CancellationReason[] =>
  errorName(err) === 'TransactionCanceledException' ? ((err as { CancellationReasons?: CancellationReason[] }).CancellationReasons ?? []) : [];

/** Another transaction held one of the items: nothing was decided, the same write may go again. */
export const isTransactionConflict = (err: unknown): boolean => cancellationReasons(err).some((reason) => reason.Code === 'TransactionConflict');

/** Per item of a cancelled transaction, whether its condition failed. */
export const failedConditions = (err: unknown): boolean[] => cancellationReasons(err).map((reason) => reason.Code === 'ConditionalCheckFailed');
