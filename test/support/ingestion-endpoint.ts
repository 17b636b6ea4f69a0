/**
 * The Application Insights ingestion endpoint on loopback, for the real Azure Monitor exporter: it
 * takes the exporter's POSTs to `/v2.1/track` over https (the exporter sends a bearer token over TLS
 * only), unzips them, and keeps each envelope with the Authorization header it came with. Its answer is
 * the service's: every item accepted.
 */
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { loopbackKeyPair } from './loopback-authority';

export interface Envelope {
  name: string;
  data?: {
    baseType?: string;
    baseData?: { metrics?: { name: string; value: number }[]; properties?: object };
  };
}

export interface IngestionEndpoint {
  /** `https://127.0.0.1:port`: the connection string's IngestionEndpoint. */
  host: string;
  certificate: Buffer;
  received: { authorization: string | undefined; envelope: Envelope }[];
  close(): Promise<void>;
}

export async function startIngestionEndpoint(): Promise<IngestionEndpoint> {
  const keyPair = loopbackKeyPair();
  const received: IngestionEndpoint['received'] = [];
  const server: Server = createServer(keyPair, (request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const raw = Buffer.concat(chunks);
      const body = request.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
      const envelopes = request.url?.startsWith('/v2.1/track')
        ? (JSON.parse(body.toString()) as Envelope[])
        : [];
      for (const envelope of envelopes)
        received.push({ authorization: request.headers.authorization, envelope });
      response.setHeader('content-type', 'application/json');
      response.end(
        JSON.stringify({ itemsReceived: envelopes.length, itemsAccepted: envelopes.length, errors: [] }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    host: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    certificate: keyPair.cert,
    received,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
