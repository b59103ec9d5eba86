import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import type { TableNames } from '../../local/tables.ts';
import { createHandlers, type Endpoint } from './handlers.ts';
import { scanAll } from './invoke.ts';
import type { TestDeps } from './stack.ts';

export interface RawReply {
  status: number;
  /** The body as the handler returned it. */
  raw: string;
  /** The parsed body, or undefined when it is not JSON (which a property then reports). */
  json: unknown;
  headers: Record<string, unknown>;
}

/**
 * Every real handler (test/support/handlers.ts), invoked with an event the caller
 * built (or tampered with) itself: unlike api() in invoke.ts, nothing is
 * normalised on the way in and a non-JSON reply is returned, not thrown.
 */
export function rawHandlers(deps: TestDeps) {
  const handlers = createHandlers(deps);
  return async (endpoint: Endpoint, event: APIGatewayProxyEventV2, context?: Context): Promise<RawReply> => {
    const result = await handlers[endpoint](event, context);
    const raw = result.body ?? '';
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      json = undefined;
    }
    return { status: result.statusCode ?? 0, raw, json, headers: result.headers ?? {} };
  };
}

/**
 * Tables that hold caches of WeChat's own state (its access_token), which any
 * request may fill or refresh: not what a client's request writes.
 */
const CACHE_TABLES = new Set(['appCache']);

/** Every item of every table (but caches), in a stable order: equal snapshots mean nothing was written. */
export async function snapshotTables(admin: DynamoDBClient, tables: TableNames): Promise<Record<string, string[]>> {
  const entries = Object.entries(tables as unknown as Record<string, string>).filter(([key]) => !CACHE_TABLES.has(key));
  const scans = await Promise.all(
    entries.map(async ([key, name]) => [key, (await scanAll(admin, name)).map((item) => stableJson(item)).sort()] as const),
  );
  return Object.fromEntries(scans);
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value instanceof Set) return stableJson([...value].map((v) => stableJson(v)).sort());
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'undefined';
}
