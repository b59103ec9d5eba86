import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ROOT } from '../../local/state.ts';
import { ENDPOINTS, ROUTES } from '../support/handlers.ts';

interface ServerlessYml {
  functions: Record<string, { handler: string; events?: { httpApi?: string }[] }>;
}

describe("the tests' handler map (test/support/handlers.ts)", () => {
  it('lists exactly the functions and httpApi routes of serverless.yml, each with its own handler module', async () => {
    // CloudFormation tags (!GetAtt, !Join) are not YAML the parser knows: silence them, only routes matter here.
    const { functions } = parse(readFileSync(`${ROOT}serverless.yml`, 'utf8'), { logLevel: 'silent' }) as ServerlessYml;
    const deployed = Object.entries(functions).flatMap(([name, fn]) =>
      (fn.events ?? []).flatMap((event) => (event.httpApi ? [`${name} ${fn.handler} ${event.httpApi}`] : [])),
    );
    const tested = ENDPOINTS.map((name) => `${name} handlers/${name}.handler ${ROUTES[name].method} ${ROUTES[name].path}`);
    expect(tested.sort()).toEqual(deployed.sort());

    for (const name of ENDPOINTS) {
      const module = (await import(`../../handlers/${name}.ts`)) as { createHandler: unknown };
      expect(ROUTES[name].create, name).toBe(module.createHandler);
    }
  });
});
