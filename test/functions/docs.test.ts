/** GET /api/docs: the rendered API reference, served from this app only. */
import { gunzipSync } from 'node:zlib';
import { HttpRequest, HttpResponse, type HttpResponseInit, InvocationContext } from '@azure/functions';
import { docs, REFERENCE_ASSETS } from '../../functions/docs';

const context = () => new InvocationContext({ logHandler: () => undefined });
const get = (path: string, headers: Record<string, string> = {}) =>
  new HttpRequest({ url: `http://localhost${path}`, method: 'GET', headers });
const file = (name: string, headers: Record<string, string> = {}) =>
  docs(get(`/api/docs?file=${encodeURIComponent(name)}`, headers), context());
const bytesOf = async (init: HttpResponseInit) => Buffer.from(await new HttpResponse(init).arrayBuffer());

describe('GET /api/docs', () => {
  it('is a page whose policy loads scripts, styles and data from this app only', async () => {
    const response = await docs(get('/api/docs'), context());
    const headers = new HttpResponse(response).headers;
    expect(response.status).toBe(200);
    expect(headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self';");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toMatch(/https?:|\*|unsafe-eval/);
    const page = (await bytesOf(response)).toString('utf8');
    // Every script and style the page names is one of the app's own files; nothing inline runs.
    const sources = [...page.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(sources.filter((s) => s.startsWith('/')).sort()).toEqual(
      REFERENCE_ASSETS.map((asset) => `/api/docs?file=${asset}`).sort(),
    );
    expect(page).not.toMatch(/<script>(?!<\/script>)|<style/);
  });

  it('serves the three files, gzipped when the browser takes it', async () => {
    for (const asset of REFERENCE_ASSETS) {
      const plain = await file(asset);
      const zipped = await file(asset, { 'accept-encoding': 'gzip, br' });
      expect([asset, plain.status, zipped.status]).toEqual([asset, 200, 200]);
      expect(new HttpResponse(zipped).headers.get('content-encoding')).toBe('gzip');
      expect(gunzipSync(await bytesOf(zipped)).equals(await bytesOf(plain))).toBe(true);
    }
    const start = await file('reference.js');
    // The page reads the document of this app and cannot send requests to the API.
    expect((await bytesOf(start)).toString()).toMatch(
      /url: '\/api\/openapi\.json'[\s\S]*supportedSubmitMethods: \[\]/,
    );
  });

  it('answers 404 in JSON for any other name, and never reads a path', async () => {
    for (const asset of ['../../package.json', 'index.html', 'swagger-ui-bundle.js.map', '']) {
      const response = await file(asset);
      expect([asset, response.status]).toEqual([asset, 404]);
      expect(response.jsonBody).toMatchObject({ error: { code: 'not-found' } });
    }
  });
});
