import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';

/**
 * The OpenAPI 3.1 description of every HTTP endpoint (shared/openapi.json). Anonymous, like health:
 * it carries no settings, only the shape of the API.
 */
export async function openapi(_request: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> {
  const document = (await import('../shared/openapi.json')).default;
  return { status: 200, jsonBody: document };
}

app.http('openapi', { methods: ['GET'], authLevel: 'anonymous', route: 'openapi.json', handler: openapi });
