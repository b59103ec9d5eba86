'use strict';
/**
 * serverless.yml's `functions`, generated from the route table (lib/http/routes.ts): each function's handler, its
 * HTTP API route (none for grant), its reserved concurrency (resources/settings.cjs, an opt-in) and its own role's
 * statements (resources/iam.cjs). A function exists only through the table, so none can miss its route, its role or
 * its fence.
 */
const { require: tsRequire } = require('tsx/cjs/api');

const { FUNCTIONS, FUNCTION_NAMES, handlerOf } = tsRequire('../lib/http/routes.ts', __filename);
const iam = require('./iam.cjs');
const settings = require('./settings.cjs');

/** The functions, given what the statements name: { appSecretParameter, appsPath, avatarsBucket } and the shares. */
function functions(ctx, reserved) {
  const statements = iam.statements(ctx, FUNCTION_NAMES);
  return Object.fromEntries(
    FUNCTION_NAMES.map((name) => {
      const { method, path } = FUNCTIONS[name];
      return [
        name,
        {
          handler: handlerOf(name),
          reservedConcurrency: reserved[name] ?? null,
          ...(path ? { events: [{ httpApi: `${method} ${path}` }] } : {}),
          iamRoleStatements: statements[name],
        },
      ];
    }),
  );
}

function failed(err) {
  const error = new Error(err instanceof Error ? err.message : String(err));
  error.stack = error.message;
  return error;
}

module.exports = {
  functions: (ctx, reserved) => functions(ctx, reserved),
  /** What serverless.yml includes: `functions: ${file(./resources/functions.cjs):resolve}`. */
  async resolve({ resolveVariable }) {
    const ctx = {
      appSecretParameter: await resolveVariable('self:custom.appSecretParameter'),
      appsPath: await resolveVariable('self:custom.appsPath'),
      avatarsBucket: await resolveVariable('self:custom.avatarsBucket'),
    };
    const reserved = settings.reservedConcurrency();
    try {
      return functions(ctx, reserved);
    } catch (err) {
      throw failed(err);
    }
  },
};
