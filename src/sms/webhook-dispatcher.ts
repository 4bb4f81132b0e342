import { randomUUID } from 'node:crypto';
import { silentLogger, type UaLogger } from '../sip/ua';
import { WEBHOOK_SIGNATURE_HEADER, signWebhook, systemClock, type Clock, type TimerHandle } from '../util';

export interface WebhookDispatcherOptions {
  /** HMAC key for X-Signature (src/util/hmac.ts); unsigned when absent. */
  signingKey?: string;
  /** Deliveries in total per event (first included). Default 5. */
  maxAttempts?: number;
  /** First retry delay, doubled each time. Default 1 s. */
  baseDelayMs?: number;
  /** Upper bound of one delay. Default 60 s. */
  maxDelayMs?: number;
  /** Per-request timeout. Default 5 s. */
  timeoutMs?: number;
  /** Events held for delivery at most; beyond it new events are dropped and counted. Default 10,000. */
  maxPending?: number;
  clock?: Clock;
  fetch?: typeof fetch;
  logger?: UaLogger;
  userAgent?: string;
}

interface PendingDelivery {
  readonly id: string;
  readonly url: string;
  readonly body: string;
  readonly event: string;
  attempt: number;
  timer: TimerHandle | undefined;
}

/**
 * POSTs JSON events to customer webhooks (inbound SMS to a number's `sms_webhook`, status changes to a message's
 * `webhook_url`). The body is serialised once and signed as sent (`X-Signature: sha256=<hex>`); `X-Webhook-Id`
 * stays the same across retries so receivers can drop duplicates. Network errors, timeouts, 408, 429 and 5xx are
 * retried with exponential backoff; other answers end the delivery. Retries live in memory: an event still pending
 * when the process stops is logged and dropped (the message itself is in the database and readable through the API).
 */
export class WebhookDispatcher {
  private readonly clock: Clock;
  private readonly fetchFn: typeof fetch;
  private readonly log: UaLogger;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly timeoutMs: number;
  private readonly maxPending: number;
  private readonly pendingSet = new Set<PendingDelivery>();
  private readonly inflight = new Set<Promise<void>>();
  private closed = false;
  /** Events given up (attempts exhausted, refused, or dropped because the backlog was full). */
  dropped = 0;
  /** Events a webhook accepted (2xx). */
  delivered = 0;

  constructor(private readonly opts: WebhookDispatcherOptions = {}) {
    this.clock = opts.clock ?? systemClock;
    this.fetchFn = opts.fetch ?? fetch;
    this.log = opts.logger ?? silentLogger;
    this.maxAttempts = Math.max(1, opts.maxAttempts ?? 5);
    this.baseDelayMs = opts.baseDelayMs ?? 1_000;
    this.maxDelayMs = opts.maxDelayMs ?? 60_000;
    this.timeoutMs = opts.timeoutMs ?? 5_000;
    this.maxPending = opts.maxPending ?? 10_000;
  }

  /** Events waiting for a (re)try or in flight. */
  get pending(): number {
    return this.pendingSet.size;
  }

  /** Queue `payload` for `url`. Never throws; returns the X-Webhook-Id, or undefined when not queued. */
  post(url: string, event: string, payload: object): string | undefined {
    if (this.closed) return undefined;
    if (!/^https?:\/\//i.test(url)) {
      this.log.warn({ url, event }, 'SMS webhook URL is not http(s): not called');
      this.dropped++;
      return undefined;
    }
    if (this.pendingSet.size >= this.maxPending) {
      this.log.warn({ url, event, pending: this.pendingSet.size }, 'SMS webhook backlog full: event dropped');
      this.dropped++;
      return undefined;
    }
    const d: PendingDelivery = { id: randomUUID(), url, body: JSON.stringify({ event, ...payload }), event, attempt: 0, timer: undefined };
    this.pendingSet.add(d);
    this.attempt(d);
    return d.id;
  }

  private attempt(d: PendingDelivery): void {
    d.timer = undefined;
    if (this.closed) return;
    d.attempt++;
    const p = this.deliver(d).finally(() => this.inflight.delete(p));
    this.inflight.add(p);
  }

  private async deliver(d: PendingDelivery): Promise<void> {
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      'User-Agent': this.opts.userAgent ?? 'ai-voice-sip-server',
      'X-Webhook-Id': d.id,
      'X-Webhook-Event': d.event,
      'X-Webhook-Attempt': String(d.attempt),
    };
    if (this.opts.signingKey) headers[WEBHOOK_SIGNATURE_HEADER] = signWebhook(d.body, this.opts.signingKey);
    let retry: boolean;
    let retryAfterMs: number | undefined;
    let outcome: string;
    try {
      const res = await this.fetchFn(d.url, { method: 'POST', headers, body: d.body, signal: AbortSignal.timeout(this.timeoutMs), redirect: 'error' });
      // Drain the body so the connection can be reused.
      await res.arrayBuffer().catch(() => undefined);
      outcome = `HTTP ${res.status}`;
      if (res.status >= 200 && res.status < 300) {
        this.pendingSet.delete(d);
        this.delivered++;
        return;
      }
      retry = res.status === 408 || res.status === 429 || res.status >= 500;
      const ra = Number.parseInt(res.headers.get('retry-after') ?? '', 10);
      if (Number.isFinite(ra) && ra >= 0) retryAfterMs = ra * 1000;
    } catch (err) {
      retry = true;
      outcome = err instanceof Error ? err.message : String(err);
    }
    if (!retry || d.attempt >= this.maxAttempts || this.closed) {
      this.pendingSet.delete(d);
      this.dropped++;
      this.log.warn({ url: d.url, event: d.event, id: d.id, attempts: d.attempt, outcome }, 'SMS webhook delivery given up');
      return;
    }
    const delay = Math.min(this.maxDelayMs, Math.max(retryAfterMs ?? 0, this.baseDelayMs * 2 ** (d.attempt - 1)));
    this.log.debug({ url: d.url, event: d.event, id: d.id, attempt: d.attempt, outcome, delay }, 'SMS webhook delivery failed: will retry');
    d.timer = this.clock.setTimeout(() => this.attempt(d), delay);
  }

  /** Stop retrying and wait for requests in flight. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    for (const d of this.pendingSet) {
      if (d.timer) {
        this.clock.clearTimeout(d.timer);
        this.log.warn({ url: d.url, event: d.event, id: d.id }, 'SMS webhook retry abandoned at shutdown');
        this.pendingSet.delete(d);
        this.dropped++;
      }
    }
    await Promise.all([...this.inflight]);
    this.pendingSet.clear();
  }
}
