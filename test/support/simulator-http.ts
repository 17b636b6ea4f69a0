/**
 * Helpers for tests that talk to the simulator over plain HTTP, without the product's client: get a
 * token from the identity endpoint the way @azure/identity does, and send one API call.
 */
import { IDENTITY_API_VERSION } from '../../simulator/tokens';

const MDE_RESOURCE = 'https://api.securitycenter.microsoft.com';

export interface SimulatorAddress {
  baseUrl: string;
  identityEndpoint: string;
  identityHeader: string;
}

export async function fetchToken(
  simulator: SimulatorAddress,
  options: { resource?: string; clientId?: string } = {},
): Promise<string> {
  const url = new URL(simulator.identityEndpoint);
  url.searchParams.set('api-version', IDENTITY_API_VERSION);
  url.searchParams.set('resource', options.resource ?? MDE_RESOURCE);
  if (options.clientId) url.searchParams.set('client_id', options.clientId);
  const response = await fetch(url, { headers: { 'X-IDENTITY-HEADER': simulator.identityHeader } });
  if (response.status !== 200) throw new Error(`token endpoint answered ${response.status}`);
  return ((await response.json()) as { access_token: string }).access_token;
}

export interface ApiAnswer {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON fields of API answers
  body: any;
}

export async function callApi(
  simulator: SimulatorAddress,
  token: string | null,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  contentType = 'application/json',
): Promise<ApiAnswer> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = contentType;
  const response = await fetch(`${simulator.baseUrl}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : null };
}
