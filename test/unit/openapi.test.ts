import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ROUTES } from '../../client/src/routes.ts';
import { SERVER_ERROR_CODES, type ServerErrorCode, statusOf } from '../../client/tools/error-codes.mts';
import { ROOT } from '../../local/state.ts';
import { serverlessRoutes } from '../support/routes.ts';

/**
 * openapi.yaml, serverless.yml and the client describe one API: the same
 * routes, and the server's error codes, each under its own status. (The lint
 * itself is `npm run lint:openapi`; replies are checked against the spec's
 * schemas in test/integration/openapi-replies.test.ts.)
 */
interface Schema {
  $ref?: string;
  enum?: string[];
  properties?: Record<string, Schema>;
}
interface Operation {
  operationId: string;
  responses: Record<string, { $ref?: string; content?: Record<string, { schema: Schema }> }>;
}
interface Spec {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema>; responses: Record<string, { content: Record<string, { schema: Schema }> }> };
}

const spec = parse(readFileSync(`${ROOT}openapi.yaml`, 'utf8')) as Spec;
const METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);
const specRoutes = Object.entries(spec.paths).flatMap(([path, item]) =>
  Object.entries(item)
    .filter(([method]) => METHODS.has(method))
    .map(([method, operation]) => ({ route: `${method.toUpperCase()} ${path}`, operation })),
);

/** The codes an error response allows, with its $ref followed. */
function codesOf(response: Operation['responses'][string]): string[] {
  const resolved = response.$ref ? spec.components.responses[response.$ref.split('/').pop()!]! : response;
  const schema = resolved.content?.['application/json']?.schema;
  expect(schema?.$ref, 'an error response is the Error schema').toBe('#/components/schemas/Error');
  return schema?.properties?.code?.enum ?? [];
}

const sorted = (values: Iterable<string>) => [...values].sort();

describe('openapi.yaml, serverless.yml and the client', () => {
  it('name the same routes', () => {
    const deployed = sorted(serverlessRoutes().map((r) => r.route));
    expect(sorted(specRoutes.map((r) => r.route))).toEqual(deployed);
    expect(sorted(Object.values(ROUTES))).toEqual(deployed);
  });

  it("the client's method for each route has the spec's operationId", () => {
    const byRoute = Object.fromEntries(specRoutes.map((r) => [r.route, r.operation.operationId]));
    for (const [method, route] of Object.entries(ROUTES)) expect(byRoute[route], route).toBe(method);
  });

  it("the spec's error codes are exactly the server's", () => {
    expect(sorted(spec.components.schemas.ErrorCode!.enum ?? [])).toEqual(sorted(SERVER_ERROR_CODES));
  });

  it('every error response lists only codes the server answers with at that status', () => {
    for (const { route, operation } of specRoutes) {
      for (const [status, response] of Object.entries(operation.responses)) {
        if (status === '200') continue;
        const codes = codesOf(response);
        expect(codes.length, `${route} ${status} lists its codes`).toBeGreaterThan(0);
        for (const code of codes) {
          expect(SERVER_ERROR_CODES, `${route} ${status}`).toContain(code);
          expect(statusOf(code as ServerErrorCode), `${route} ${status} ${code}`).toBe(Number(status));
        }
      }
      expect(codesOf(operation.responses['500']!), `${route} can fail on our side`).toEqual(['INTERNAL']);
    }
  });
});
