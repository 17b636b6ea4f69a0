import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { jsonProblem } from './http-runtime';

/**
 * The API reference rendered by Swagger UI (docs/decisions/0018-api-reference-page.md): an HTML page,
 * Swagger UI's script and style from the swagger-ui-dist package, and the few lines that start it.
 * Everything comes from this app; the page's Content-Security-Policy forbids loading anything else, and
 * the page cannot call the API (no "Try it out"): it teaches, the CLI and curl act.
 */

/**
 * The files are `?file=` of the page's own route, so one path covers the reference wherever a path list
 * must name it (the sign-in exclusions of infra/main.bicep). Absolute: /api/docs/ finds them too.
 */
const FILE = '/api/docs?file=';

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mde-isolator API reference</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${FILE}swagger-ui.css">
</head>
<body>
<main id="reference"></main>
<script src="${FILE}swagger-ui-bundle.js"></script>
<script src="${FILE}reference.js"></script>
</body>
</html>
`;

/** A file rather than an inline script, so the policy can forbid inline scripts. */
const START = `window.ui = SwaggerUIBundle({
  url: '/api/openapi.json',
  dom_id: '#reference',
  deepLinking: true,
  supportedSubmitMethods: [],
  validatorUrl: null,
  defaultModelsExpandDepth: 0,
  docExpansion: 'list',
});
`;

/**
 * Scripts and styles from this origin only; Swagger UI sets style attributes, hence 'unsafe-inline' for
 * styles (never for scripts). connect-src lets it fetch openapi.json and nothing else.
 */
export const REFERENCE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SWAGGER_UI_FILES = ['swagger-ui-bundle.js', 'swagger-ui.css'] as const;
export const REFERENCE_ASSETS = [...SWAGGER_UI_FILES, 'reference.js'] as const;
type Asset = (typeof REFERENCE_ASSETS)[number];

const CONTENT_TYPES: Record<Asset, string> = {
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'swagger-ui.css': 'text/css; charset=utf-8',
  'reference.js': 'text/javascript; charset=utf-8',
};

interface Body {
  plain: Buffer;
  gzipped: Buffer;
}

/** Read and compressed once per process: the bundle is 1.8 MB, about 500 KB gzipped. */
const bodies = new Map<Asset, Promise<Body>>();

/** fs and zlib load on the first file asked for, not with the host (docs/architecture.md §8). */
async function load(asset: Asset): Promise<Body> {
  const { readFile } = await import('node:fs/promises');
  const { gzipSync } = await import('node:zlib');
  const plain =
    asset === 'reference.js'
      ? Buffer.from(START)
      : await readFile(require.resolve(`swagger-ui-dist/${asset}`));
  return { plain, gzipped: gzipSync(plain) };
}

function bodyOf(asset: Asset): Promise<Body> {
  let body = bodies.get(asset);
  if (!body) {
    body = load(asset);
    bodies.set(asset, body);
  }
  return body;
}

const acceptsGzip = (request: HttpRequest) => /\bgzip\b/i.test(request.headers.get('accept-encoding') ?? '');
const isAsset = (name: string): name is Asset => (REFERENCE_ASSETS as readonly string[]).includes(name);

const PAGE_HEADERS = {
  'Content-Type': 'text/html; charset=utf-8',
  'Content-Security-Policy': REFERENCE_CSP,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-cache',
};

/**
 * GET /api/docs: the page; `?file=` one of its three files, never a path. Anonymous, like the document
 * it renders.
 */
export async function docs(request: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> {
  const name = request.query.get('file');
  if (name === null) return { status: 200, body: PAGE, headers: PAGE_HEADERS };
  if (!isAsset(name))
    return jsonProblem(404, 'not-found', `no such file; the reference serves ${REFERENCE_ASSETS.join(', ')}`);
  const { plain, gzipped } = await bodyOf(name);
  const gzip = acceptsGzip(request);
  return {
    status: 200,
    body: gzip ? gzipped : plain,
    headers: {
      'Content-Type': CONTENT_TYPES[name],
      'X-Content-Type-Options': 'nosniff',
      'Cache-Control': 'public, max-age=3600',
      Vary: 'Accept-Encoding',
      ...(gzip && { 'Content-Encoding': 'gzip' }),
    },
  };
}

app.http('docs', { methods: ['GET'], authLevel: 'anonymous', route: 'docs', handler: docs });
