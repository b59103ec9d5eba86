import { describe, expect, it } from 'vitest';
import { ENDPOINTS, ROUTES } from '../support/handlers.ts';
import { serverlessFunctions } from '../support/routes.ts';

describe("the tests' handler map (test/support/handlers.ts)", () => {
  it('lists exactly the functions and httpApi routes of serverless.yml, each with its own handler module', async () => {
    // serverless.yml's functions are generated from the route table (resources/functions.cjs).
    const functions = serverlessFunctions();
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
