import * as v from 'valibot';
import { characters, isPlainText } from '#lib/kernel/text';

/** An idempotency key: the client makes one per intended move and sends it again with every retry of that move. */
export const idempotencyKey = v.pipe(
  v.string('key must be a string'),
  v.regex(/^[A-Za-z0-9_-]{8,64}$/, 'key must be 8 to 64 characters of A-Z a-z 0-9 _ -'),
);

export const MAX_AMOUNT = 1_000_000;

const wholeNumber = (what: string) => v.pipe(v.number(`${what} must be a number`), v.integer(`${what} must be a whole number`));

/** What a client spends: a whole number of points, 1 to 1,000,000. */
export const spendAmount = v.pipe(
  wholeNumber('amount'),
  v.minValue(1, 'amount must be at least 1'),
  v.maxValue(MAX_AMOUNT, `amount must be at most ${MAX_AMOUNT}`),
);

/** What a server grants (positive) or deducts (negative): never 0. */
export const grantAmount = v.pipe(
  wholeNumber('amount'),
  v.minValue(-MAX_AMOUNT, `amount must be at least -${MAX_AMOUNT}`),
  v.maxValue(MAX_AMOUNT, `amount must be at most ${MAX_AMOUNT}`),
  v.check((amount) => amount !== 0, 'amount must not be 0'),
);

/** Why a move was made, as shown in the history: 1 to 64 characters of plain text (lib/kernel/text.ts). */
export const reason = v.pipe(
  v.string('reason must be a string'),
  v.check((text) => text.length > 0 && characters(text) <= 64, 'reason must be 1 to 64 characters'),
  v.check(
    isPlainText,
    'reason must not contain control, invisible or direction-changing characters, private-use characters, stacked combining marks or lone surrogates',
  ),
);
