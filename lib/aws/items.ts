import * as v from 'valibot';
import { AppError } from '#lib/kernel/errors';

/**
 * An item read back from DynamoDB, checked against its entity's schema. Only
 * our own code writes these items, so one that does not fit is a bug or a
 * botched migration: a 500 that names the entity, never a silently wrong value.
 */
export function parseItem<const TSchema extends v.GenericSchema>(
  entity: string,
  schema: TSchema,
  item: Record<string, unknown>,
): v.InferOutput<TSchema> {
  const result = v.safeParse(schema, item);
  if (result.success) return result.output;
  const path = result.issues[0].path?.map((step: { key: unknown }) => String(step.key)).join('.');
  throw new AppError('INTERNAL', 'Something went wrong on our side', { corruptItem: entity, attribute: path });
}

/** Optional attributes go into an expression only when set, so no write relies on removeUndefinedValues. */
export const definedOnly = (values: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined));
