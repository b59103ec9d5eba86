import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { ROOT } from '../../local/state.ts';

export interface ServerlessRoute {
  /** The function's name in serverless.yml. */
  name: string;
  /** "METHOD /path", as API Gateway names the route. */
  route: string;
  /** The handler's source, e.g. handlers/login.ts. */
  entry: string;
}

interface ServerlessYml {
  functions?: Record<string, { handler?: string; events?: { httpApi?: string | { method?: string; path?: string } }[] }>;
}

/** Every HTTP API route of serverless.yml: what is deployed, so what the tests serve. */
export function serverlessRoutes(): ServerlessRoute[] {
  const yml = parse(readFileSync(`${ROOT}serverless.yml`, 'utf8'), { logLevel: 'silent' }) as ServerlessYml;
  return Object.entries(yml.functions ?? {}).flatMap(([name, fn]) =>
    (fn.events ?? [])
      .filter((event) => event.httpApi !== undefined)
      .map((event) => {
        const api = event.httpApi!;
        const route = typeof api === 'string' ? api : `${api.method?.toUpperCase()} ${api.path}`;
        const handler = fn.handler ?? '';
        return { name, route, entry: `${handler.slice(0, handler.lastIndexOf('.'))}.ts` };
      }),
  );
}
