import { type CancellationReason, cancellationReasons, conditionFailed } from '#lib/aws/dynamodb-errors';

export { type CancellationReason, cancellationReasons };

/** Another transaction held one of the items: nothing was decided, the same write may go again. */
export const isTransactionConflict = (err: unknown): boolean => cancellationReasons(err).some((reason) => reason.Code === 'TransactionConflict');

/** Per item of a cancelled transaction, whether its condition failed. */
export const failedConditions = (err: unknown): boolean[] => cancellationReasons(err).map((_, item) => conditionFailed(err, item));
