/**
 * A loopback webhook receiver: records every POST (path, headers, raw body) and answers from a
 * script, then 200 (Slack's answer; Teams Workflows answer 202, either is success).
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** When it arrived, by the clock the receiver was started with. */
  at: number;
}

export interface Answer {
  status: number;
  headers?: Record<string, string>;
}

export class WebhookReceiver {
  readonly received: Received[] = [];
  private script: Answer[] = [];
  private readonly server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      this.received.push({
        path: request.url ?? '',
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: this.now(),
      });
      const answer = this.script.shift() ?? { status: 200 };
      response.writeHead(answer.status, { 'content-type': 'text/plain', ...answer.headers });
      response.end(answer.status < 300 ? 'ok' : 'no');
    });
  });
  private origin = '';

  private constructor(private readonly now: () => number) {}

  /** `now`: the clock arrivals are stamped with (a test's hand clock). */
  static async start(now: () => number = Date.now): Promise<WebhookReceiver> {
    const receiver = new WebhookReceiver(now);
    await new Promise<void>((resolve) => receiver.server.listen(0, '127.0.0.1', resolve));
    receiver.origin = `http://127.0.0.1:${(receiver.server.address() as AddressInfo).port}`;
    return receiver;
  }

  /** A URL on this receiver carrying a credential in its path and query, as Teams and Slack URLs do. */
  url(name: string): string {
    return `${this.origin}/hooks/${name}/T0SECRETPATH?sig=url-signature-${name}`;
  }

  answer(...script: Answer[]): void {
    this.script = script;
  }

  bodies(): unknown[] {
    return this.received.map((r) => JSON.parse(r.body));
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
