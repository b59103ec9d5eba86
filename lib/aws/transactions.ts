import { cancellationReasons } from '#lib/aws/dynamodb-errors';

/** Another transaction held one of the items: nothing was decided, the same write may go again. */
export const isTransactionConflict = (err: unknown): boolean => cancellationReasons(err).some((reason) => reason.Code === 'TransactionConflict');
