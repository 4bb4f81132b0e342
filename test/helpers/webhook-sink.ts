import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { until } from './wait';

/** An HTTP server on 127.0.0.1 that takes status webhooks (JSON POSTs), answers 204 and keeps their bodies in order. */
export class WebhookSink<T extends object = Record<string, unknown>> {
  readonly events: T[] = [];

  private constructor(private readonly server: Server) {}

  static async start<T extends object = Record<string, unknown>>(): Promise<WebhookSink<T>> {
    const holder: { sink?: WebhookSink<T> } = {};
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        holder.sink?.events.push(JSON.parse(body) as T);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    holder.sink = new WebhookSink<T>(server);
    return holder.sink;
  }

  /** The URL to give as webhook_url / status callback. */
  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/status`;
  }

  /** The first webhook with this `event` for `callId`, waiting for it (bounded by `attempts` x 100 ms). */
  find(event: string, callId: string, what: string, attempts?: number): Promise<T> {
    return until(() => this.events.find((e) => (e as Record<string, unknown>)['event'] === event && (e as Record<string, unknown>)['call_id'] === callId), what, attempts);
  }

  close(): Promise<void> {
    return new Promise<void>((r) => this.server.close(() => r()));
  }
}
