import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { TableNames } from '../../local/tables.ts';
import { apiEvent } from './event.ts';
import { createHandlers, type Endpoint, ROUTES } from './handlers.ts';
import type { TestDeps } from './stack.ts';

export interface Reply {
  status: number;
  body: Record<string, unknown>;
  raw: string;
  headers: Record<string, unknown>;
}

type EventInput = Parameters<typeof apiEvent>[0];

/** Every real handler (test/support/handlers.ts) built on the given deps, invoked with real HTTP API (v2) events. */
export function api(deps: TestDeps) {
  const handlers = createHandlers(deps);
  const invoke = async (name: Endpoint, input: EventInput): Promise<Reply> => {
    const result = await handlers[name](apiEvent(input));
    const raw = result.body ?? '';
    return { status: result.statusCode ?? 0, body: JSON.parse(raw), raw, headers: result.headers ?? {} };
  };
  /** The endpoint's own route (the route table's method and path), with the rest of the event. */
  const call = (name: Endpoint, input: Omit<EventInput, 'method' | 'path'> = {}) =>
    invoke(name, { method: ROUTES[name].method, path: ROUTES[name].path, ...input });
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  return {
    invoke,
    login: (code: string) => call('login', { body: JSON.stringify({ code }) }),
    checklogin: (token: string) => call('checklogin', { headers: bearer(token) }),
    credit: (token: string) => call('credit', { headers: bearer(token) }),
    logout: (token: string, all = false) => call('logout', { headers: bearer(token), ...(all ? { query: { all: '1' } } : {}) }),
    userinfo: (token: string, body: unknown) => call('userinfo', { headers: bearer(token), body: JSON.stringify(body) }),
    spend: (token: string, body: unknown) => call('spend', { headers: bearer(token), body: JSON.stringify(body) }),
    checkin: (token: string) => call('checkin', { headers: bearer(token) }),
    history: (token: string, query: Record<string, string> = {}) => call('history', { headers: bearer(token), query }),
    phonenumber: (token: string, body: unknown) => call('phonenumber', { headers: bearer(token), body: JSON.stringify(body) }),
    profile: (token: string) => call('profile', { headers: bearer(token) }),
    setNickname: (token: string, body: unknown) =>
      call('nickname', { headers: bearer(token), body: typeof body === 'string' ? body : JSON.stringify(body) }),
    /** A multipart body as API Gateway hands it over (base64), with its content type. */
    avatar: (token: string | undefined, upload: { body: Buffer; contentType: string }) =>
      call('avatar', {
        headers: { ...(token ? bearer(token) : {}), 'content-type': upload.contentType },
        body: upload.body,
      }),
  };
}

export async function scanAll(admin: DynamoDBClient, TableName: string): Promise<Record<string, unknown>[]> {
  const { Items = [] } = await DynamoDBDocumentClient.from(admin).send(new ScanCommand({ TableName, ConsistentRead: true }));
  return Items;
}

export async function tableCounts(admin: DynamoDBClient, tables: TableNames) {
  return {
    sessions: (await scanAll(admin, tables.sessions)).length,
    users: (await scanAll(admin, tables.users)).length,
  };
}

/**
 * Every user item, each with its balance as credit keeps it (its balance item in the ledger table: credit, ledgerSeq,
 * signupRiskRank; or, for a user stored before the balance had its own item, what its user item still holds).
 */
export async function scanUsers(admin: DynamoDBClient, tables: Pick<TableNames, 'users' | 'ledger'>): Promise<Record<string, unknown>[]> {
  const balances = new Map(
    (await scanAll(admin, tables.ledger)).filter((item) => item.entryKey === '#balance').map((item) => [item.uid, item] as const),
  );
  return (await scanAll(admin, tables.users)).map((user) => {
    const balance = balances.get(user.uid);
    if (!balance) return user;
    const { uid: _uid, entryKey: _key, ...own } = balance;
    return { ...user, ...own };
  });
}
