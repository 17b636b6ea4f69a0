/**
 * shared/openapi.json against what the function files register (routes, methods, auth level), the
 * statuses the handlers answer with, and the user guide's curl examples.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HttpRequest, InvocationContext } from '@azure/functions';
import Ajv2020 from 'ajv/dist/2020';
import { openapi } from '../../functions/openapi';
import { ALERT_FAMILIES, isParsed, parseAlertPayload } from '../../shared/alerts/parse';
import { MANUAL_STATUSES } from '../../shared/manual/answer';
import {
  isOrderProblem,
  parseCancelBody,
  parseMdeOrder,
  parseOrder,
  parseVoteBody,
} from '../../shared/manual/order';
import document from '../../shared/openapi.json';
import {
  COMPONENT_RESPONSES,
  type Content,
  type PathItem,
  PATHS as paths,
  type Schema,
  validatorOf,
} from '../support/openapi';
import { registeredHttpFunctions } from '../support/registration';

const ROOT = join(__dirname, '..', '..');

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
    expect(statuses('/api/actions/{actionId}/cancel')).toEqual([
      200, 400, 401, 403, 404, 409, 413, 415, 422, 503,
    ]);
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

describe('the examples of shared/openapi.json', () => {
  /** Every named example in the document, with the schema it illustrates. */
  function examples(): Array<[string, Schema, unknown]> {
    const found: Array<[string, Schema, unknown]> = [];
    const collect = (where: string, content: Content | undefined) => {
      for (const [type, media] of Object.entries(content ?? {}))
        for (const [name, example] of Object.entries(media.examples ?? {}))
          found.push([`${where} ${type} ${name}`, media.schema, example.value]);
    };
    for (const [path, item] of Object.entries(paths))
      for (const method of operationsOf(item)) {
        const operation = item[method];
        collect(`${method.toUpperCase()} ${path} request`, operation.requestBody?.content);
        for (const [status, response] of Object.entries(operation.responses))
          if (!response.$ref) collect(`${method.toUpperCase()} ${path} ${status}`, response.content);
      }
    for (const [name, response] of Object.entries(COMPONENT_RESPONSES))
      collect(`response ${name}`, response.content);
    return found;
  }

  /** The request examples of one operation, by name. */
  const requestExamples = (path: string) =>
    Object.entries(Object.values(paths[path].post.requestBody?.content ?? {})[0]?.examples ?? {});

  it('every operation with a body has examples, and each validates against its schema', () => {
    for (const [path, item] of Object.entries(paths))
      for (const method of operationsOf(item))
        if (item[method].requestBody) expect([path, requestExamples(path).length > 0]).toEqual([path, true]);
    const all = examples();
    expect(all.length).toBeGreaterThanOrEqual(25);
    for (const [where, schema, value] of all) {
      const validate = validatorOf(schema);
      expect([where, validate(value) ? null : validate.errors]).toEqual([where, null]);
    }
  });

  it('the order examples are orders the API accepts, each naming exactly one device', () => {
    for (const verb of ['isolate', 'release'] as const)
      for (const [name, { value }] of requestExamples(`/api/${verb}`))
        expect([verb, name, parseOrder(verb, value)]).toEqual([
          verb,
          name,
          expect.objectContaining({ verb }),
        ]);
    const id = '716240a6127a2375ac877a23ed488ec786b9e4a4';
    for (const [verb, path] of [
      ['isolate', '/api/machines/{id}/isolate'],
      ['release', '/api/machines/{id}/unisolate'],
    ] as const)
      for (const [name, { value }] of requestExamples(path))
        expect([name, parseMdeOrder(verb, id, value)]).toEqual([name, expect.objectContaining({ verb })]);
    for (const [name, { value }] of requestExamples('/api/actions/{actionId}/cancel'))
      expect([name, isOrderProblem(parseCancelBody(value) as object)]).toEqual([name, false]);
    for (const path of ['/api/approvals/{id}/approve', '/api/approvals/{id}/deny'])
      for (const [name, { value }] of requestExamples(path))
        expect([name, isOrderProblem(parseVoteBody(value) as object)]).toEqual([name, false]);
  });

  it('a body naming several devices is refused by the schema, as by the API', () => {
    const validate = validatorOf({ $ref: '#/components/schemas/IsolateOrder' });
    const body = { hostname: 'fin-ws-0142', fqdn: 'fin-ws-0142.ad.northwind.example', comment: 'why' };
    expect(validate(body)).toBe(false);
    // The documented 400 is the API's own answer to that body.
    const documented = paths['/api/isolate'].post.responses['400'].content?.['application/json'].examples;
    const { code, message, path } = parseOrder('isolate', body) as {
      code: string;
      message: string;
      path: string;
    };
    expect(documented?.twoDevices.value).toEqual({ error: { code, message, path } });
  });

  it('the alert examples are read by the parsers, and cover every payload family', () => {
    const sources = new Set<string>();
    for (const [name, { value }] of requestExamples('/api/alerts')) {
      const outcomes = parseAlertPayload(value);
      expect([name, outcomes.filter((o) => !isParsed(o))]).toEqual([name, []]);
      for (const outcome of outcomes) if (isParsed(outcome)) sources.add(outcome.alert.source);
    }
    expect([...sources].sort()).toEqual(ALERT_FAMILIES.map((family) => family.source).sort());
  });

  it('every operation has one declared tag and a short summary; every tag is used', () => {
    const declared = document.tags.map((tag) => tag.name);
    const used = new Set<string>();
    for (const [path, item] of Object.entries(paths))
      for (const method of operationsOf(item)) {
        const { tags = [], summary = '' } = item[method];
        expect([path, tags.length, declared.includes(tags[0])]).toEqual([path, 1, true]);
        expect([path, summary.length > 0 && summary.length <= 40]).toEqual([path, true]);
        used.add(tags[0]);
      }
    expect([...used].sort()).toEqual([...declared].sort());
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
