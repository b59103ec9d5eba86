import { AppError } from '#lib/kernel/errors';

/** Why each item of a cancelled transaction failed, in the order of its items; Item is the raw (marshalled) item when it was asked for. */
export interface CancellationReason {
  Code?: string;
  Item?: Record<string, never>;
}

export const cancellationReasons = (err: unknown): CancellationReason[] =>
  errorName(err) === 'TransactionCanceledException' ? ((err as { CancellationReasons?: CancellationReason[] }).CancellationReasons ?? []) : [];

/**
 * The one "condition failed" check: a single write's ConditionalCheckFailedException, or, given the item's
 * position, whether that item's condition failed in a cancelled transaction.
 */
export function conditionFailed(err: unknown, item?: number): boolean {
  if (item === undefined) return errorName(err) === 'ConditionalCheckFailedException';
  return cancellationReasons(err)[item]?.Code === 'ConditionalCheckFailed';
}

/** Faults in our own setup (no such table, no permission) are bugs: 500. Everything else is an outage: 503. */
const MISCONFIGURATION = new Set(['ValidationException', 'ResourceNotFoundException', 'AccessDeniedException', 'UnrecognizedClientException']);

export const errorName = (err: unknown): string => (err instanceof Error ? err.name : 'Unknown');

export function storageError(err: unknown): AppError {
  const name = errorName(err);
  if (MISCONFIGURATION.has(name)) {
    return new AppError('INTERNAL', 'Something went wrong on our side', { storageError: name }, { cause: err });
  }
  return new AppError('STORAGE_UNAVAILABLE', 'Storage is unavailable right now: retry in a moment', { storageError: name }, { cause: err });
}

/** A DynamoDB call whose every failure becomes the contract's storage error. */
export async function guard<T>(request: Promise<T>): Promise<T> {
  try {
    return await request;
  } catch (err) {
    throw storageError(err);
  }
}

/** A conditional write: false when its condition did not hold, a storage error for anything else. */
export async function conditionalWrite(request: Promise<unknown>): Promise<boolean> {
  try {
    await request;
    return true;
  } catch (err) {
    if (conditionFailed(err)) return false;
    throw storageError(err);
  }
}
