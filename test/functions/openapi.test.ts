/**
 * shared/openapi.json against what the function files register (routes, methods, auth level), the
 * statuses the handlers answer with, and the user guide's curl examples.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type app, type HttpFunctionOptions, HttpRequest, InvocationContext } from '@azure/functions';
import Ajv2020 from 'ajv/dist/2020';
import { openapi } from '../../functions/openapi';
import { MANUAL_STATUSES } from '../../shared/manual/answer';
import document from '../../shared/openapi.json';

const ROOT = join(__dirname, '..', '..');
type Operation = {
  operationId: string;
  security: Array<Record<string, string[]>>;
  responses: Record<string, unknown>;
  requestBody?: { content: { 'application/json': { schema: { $ref?: string } } } };
};
type PathItem = Record<string, Operation> & { 'x-methods-answered-405'?: string[] };
const paths = document.paths as unknown as Record<string, PathItem>;

/** Every HTTP function the files in functions/ register, as the host would see them. */
function registeredHttpFunctions(): Array<{ name: string } & HttpFunctionOptions> {
  const registered: Array<{ name: string } & HttpFunctionOptions> = [];
  // A fresh module registry, so every function file registers again; its own @azure/functions is spied on.
  jest.isolateModules(() => {
    const fresh = require('@azure/functions') as { app: typeof app };
    const spy = jest.spyOn(fresh.app, 'http').mockImplementation((name, options) => {
      registered.push({ name, ...options });
    });
    try {
      for (const file of readdirSync(join(ROOT, 'functions')).filter((f) => f.endsWith('.ts')))
        require(join(ROOT, 'functions', file));
    } finally {
      spy.mockRestore();
    }
  });
  return registered;
}

const operationsOf = (item: PathItem) => Object.keys(item).filter((key) => !key.startsWith('x-'));
const pathOf = (route: string) => `/api/${route}`;

describe('shared/openapi.json', () => {
  const functions = registeredHttpFunctions();

  it('describes every registered route with its methods and auth level, and nothing else', () => {
    expect(functions.length).toBeGreaterThanOrEqual(11);
    for (const fn of functions) {
      const item = paths[pathOf(fn.route ?? fn.name)];
      expect([fn.name, item === undefined]).toEqual([fn.name, false]);
      const documented = operationsOf(item);
      const answered405 = item['x-methods-answered-405'] ?? [];
      expect([fn.name, [...(fn.methods ?? [])].sort()]).toEqual([
        fn.name,
        [...documented.map((m) => m.toUpperCase()), ...answered405].sort(),
      ]);
      for (const method of documented) {
        const { security, operationId } = item[method];
        expect([operationId, security]).toEqual([
          operationId,
          fn.authLevel === 'anonymous' ? [] : [{ functionKey: [] }],
        ]);
      }
    }
    expect(Object.keys(paths).sort()).toEqual(functions.map((fn) => pathOf(fn.route ?? fn.name)).sort());
  });

  it('lists the statuses the handlers answer with', () => {
    const statuses = (path: string, method = 'post') =>
      Object.keys(paths[path][method].responses).map(Number).sort();
    // The order endpoints: the use case's answers, and the body checks' 413 and 415.
    const orders = [...MANUAL_STATUSES, 413, 415].sort();
    for (const path of [
      '/api/isolate',
      '/api/release',
      '/api/machines/{id}/isolate',
      '/api/machines/{id}/unisolate',
    ])
      expect([path, statuses(path)]).toEqual([path, orders]);
    expect(statuses('/api/actions/{actionId}/cancel')).toEqual([200, 400, 401, 403, 404, 409, 413, 415, 503]);
    expect(statuses('/api/alerts')).toEqual([202, 400, 405, 413, 415, 422, 503]);
    expect(statuses('/api/health', 'get')).toEqual([200, 503]);
  });

  it('is valid: every schema compiles as JSON Schema 2020-12', () => {
    expect(document.openapi).toMatch(/^3\.1\./);
    const ajv = new Ajv2020({ strict: false, validateFormats: false });
    ajv.addSchema({ components: document.components }, 'openapi');
    for (const name of Object.keys(document.components.schemas))
      expect(() => ajv.getSchema(`openapi#/components/schemas/${name}`)).not.toThrow();
  });

  it('is served anonymously at GET /api/openapi.json', async () => {
    const response = await openapi(
      new HttpRequest({ url: 'http://localhost/api/openapi.json', method: 'GET' }),
      new InvocationContext({ logHandler: () => undefined }),
    );
    expect(response).toMatchObject({ status: 200, jsonBody: document });
  });
});

describe("the user guide's curl examples", () => {
  const pages = ['manual-operations.md', 'sending-alerts.md'].map((page) =>
    readFileSync(join(ROOT, 'docs', 'guide', page), 'utf8'),
  );
  // One command per example; a trailing backslash continues it.
  const commands = [...pages.join('\n').matchAll(/^curl [\s\S]*?(?<!\\)$/gm)].map((m) =>
    m[0].replace(/\\\n\s*/g, ' '),
  );
  const ajv = new Ajv2020({ strict: false, validateFormats: false });
  ajv.addSchema({ components: document.components }, 'openapi');

  it('are there', () => {
    expect(commands.length).toBeGreaterThanOrEqual(6);
  });

  it.each(commands)('%s', (command) => {
    const method = /-X (\w+)/.exec(command)?.[1] ?? (command.includes(' -d ') ? 'POST' : 'GET');
    const url = /"(https?:\/\/[^"]+)"/.exec(command)?.[1] ?? '';
    const path = new URL(url.replace(/\$\w+|\$\{\w+\}/g, 'x')).pathname;
    const [template, item] =
      Object.entries(paths).find(([p]) => new RegExp(`^${p.replace(/\{\w+\}/g, '[^/]+')}$`).test(path)) ?? [];
    expect([path, template]).toEqual([path, expect.any(String)]);
    const operation = (item as PathItem)[method.toLowerCase()];
    expect([path, method, operation === undefined]).toEqual([path, method, false]);
    const body = /-d '([^']*)'/.exec(command)?.[1];
    if (body === undefined) return;
    const ref = operation.requestBody?.content['application/json'].schema.$ref ?? '';
    const validate = ajv.getSchema(`openapi${ref}`);
    expect(validate?.(JSON.parse(body)) ? null : [command, validate?.errors]).toBeNull();
  });
});
