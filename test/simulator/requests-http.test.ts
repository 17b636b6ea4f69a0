/** requests.http at the repository root: every request parses, targets a registered route, and has a valid body. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEV_PORTS } from '../../simulator/dev';
import { DEV_FUNCTION_KEY } from '../../simulator/dev-host';
import { PATHS, validatorOf } from '../support/openapi';
import { registeredHttpFunctions } from '../support/registration';

interface HttpFileRequest {
  title: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** The .http format: `@name = value` variables, `###` separates requests, headers, a blank line, the body. */
function parseHttpFile(text: string): HttpFileRequest[] {
  const variables = new Map<string, string>();
  for (const [, name, value] of text.matchAll(/^@(\w+)\s*=\s*(.+)$/gm)) variables.set(name, value.trim());
  const expand = (value: string) =>
    value.replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
      const known = variables.get(name);
      if (known === undefined) throw new Error(`{{${name}}} is not defined`);
      return known;
    });
  return text
    .split(/^###/m)
    .slice(1)
    .map((block) => {
      const [titleLine, ...rest] = block.split('\n');
      const lines = rest.filter((line) => !line.startsWith('#'));
      const start = lines.findIndex((line) => line.trim() !== '');
      const [method, url, ...extra] = lines[start].trim().split(/\s+/);
      if (extra.length > 0 && !/^HTTP\/[\d.]+$/.test(extra[0]))
        throw new Error(`bad request line: ${lines[start]}`);
      const end = lines.findIndex((line, index) => index > start && line.trim() === '');
      const headerLines = lines.slice(start + 1, end === -1 ? undefined : end);
      const headers = Object.fromEntries(
        headerLines.map((line) => {
          const colon = line.indexOf(':');
          if (colon < 1) throw new Error(`bad header line: ${line}`);
          return [line.slice(0, colon).trim().toLowerCase(), expand(line.slice(colon + 1).trim())];
        }),
      );
      const body =
        end === -1
          ? ''
          : expand(
              lines
                .slice(end + 1)
                .join('\n')
                .trim(),
            );
      return { title: titleLine.trim(), method, url: expand(url), headers, body };
    });
}

const requests = parseHttpFile(readFileSync(join(__dirname, '..', '..', 'requests.http'), 'utf8'));
const functions = registeredHttpFunctions();

/** The registered function and documented path whose route the URL's path matches. */
function routeOf(path: string, method: string) {
  return functions.find((fn) => {
    const pattern = `^/api/${(fn.route ?? fn.name).replace(/\{\w+\??\}/g, '[^/]+')}$`;
    return new RegExp(pattern, 'i').test(path) && (fn.methods ?? []).includes(method as never);
  });
}

describe('requests.http', () => {
  it('holds requests for the main tasks', () => {
    expect(requests.length).toBeGreaterThanOrEqual(8);
  });

  it.each(requests.map((r) => [r.title, r] as const))('%s', (_title, request) => {
    const url = new URL(request.url);
    expect(url.origin).toBe(`http://127.0.0.1:${DEV_PORTS.host}`);
    const fn = routeOf(url.pathname, request.method);
    expect([url.pathname, request.method, fn?.name]).toEqual([
      url.pathname,
      request.method,
      expect.any(String),
    ]);
    // Keyed functions get the development host's key; anonymous ones need none.
    if (fn?.authLevel === 'anonymous') expect(request.headers['x-functions-key']).toBeUndefined();
    else expect(request.headers['x-functions-key']).toBe(DEV_FUNCTION_KEY);
    if (!request.body) return;
    expect(request.headers['content-type']).toBe('application/json');
    const template = `/api/${fn?.route}`;
    const schema =
      PATHS[template][request.method.toLowerCase()].requestBody?.content['application/json'].schema;
    const validate = validatorOf(schema ?? {});
    const body = JSON.parse(request.body);
    expect(validate(body) ? null : validate.errors).toBeNull();
  });
});
