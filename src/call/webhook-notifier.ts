import { systemClock, type Clock, type TimerHandle } from '../util';
import { signWebhook, WEBHOOK_SIGNATURE_HEADER } from '../util/hmac';
import type { JsonObject } from './json';

export interface WebhookNotifierOptions {
  clock?: Clock;
  /** HMAC key (WEBHOOK_SIGNING_KEY); bodies are signed in `X-Signature` when set. */
  signingKey?: string;
  /** Attempts per notification, first included (default 5). */
  maxAttempts?: number;
  /** First retry delay, ms; doubles per attempt (default 1000). */
  baseDelayMs?: number;
  /** Largest retry delay, ms (default 30000). */
  maxDelayMs?: number;
  /** Per-attempt timeout, ms (default 5000). */
  timeoutMs?: number;
  /** Notifications waiting or in flight beyond which new ones are dropped (default 10000). */
  maxPending?: number;
  /** Deliveries in flight at once (default 32). */
  concurrency?: number;
  userAgent?: string;
  logger?: { warn(obj: object, msg?: string): void; debug(obj: object, msg?: string): void };
  /** Injected for tests; defaults to the global fetch. */
  fetch?: typeof fetch;
}

interface Job {
  url: string;
  body: string;
  key: string;
  attempt: number;
}

/**
 * Call status webhooks: POSTs JSON to the call's webhook URL with retries and exponential backoff (with jitter),
 * signed with HMAC-SHA256 when a key is configured. Notifications of one call are delivered in order (`completed`
 * never overtakes `answered`); calls do not wait for each other. Never blocks or fails a call: a webhook that keeps
 * failing is given up after `maxAttempts`, and over `maxPending` new notifications are dropped and counted.
 */
export class WebhookNotifier {
  private readonly clock: Clock;
  private readonly opts: Required<Omit<WebhookNotifierOptions, 'clock' | 'signingKey' | 'logger' | 'fetch'>>;
  private readonly signingKey: string | undefined;
  private readonly log: WebhookNotifierOptions['logger'];
  private readonly fetchFn: typeof fetch;
  /** Per call: jobs waiting behind the one being delivered. */
  private readonly queues = new Map<string, Job[]>();
  private readonly runnable: string[] = [];
  private readonly timers = new Set<TimerHandle>();
  private readonly aborts = new Set<AbortController>();
  private inFlight = 0;
  private pending = 0;
  private closed = false;
  readonly stats = { delivered: 0, failed: 0, dropped: 0, retries: 0 };

  constructor(opts: WebhookNotifierOptions = {}) {
    this.clock = opts.clock ?? systemClock;
    this.signingKey = opts.signingKey === '' ? undefined : opts.signingKey;
    this.log = opts.logger;
    this.fetchFn = opts.fetch ?? fetch;
    this.opts = {
      maxAttempts: opts.maxAttempts ?? 5,
      baseDelayMs: opts.baseDelayMs ?? 1000,
      maxDelayMs: opts.maxDelayMs ?? 30_000,
      timeoutMs: opts.timeoutMs ?? 5000,
      maxPending: opts.maxPending ?? 10_000,
      concurrency: opts.concurrency ?? 32,
      userAgent: opts.userAgent ?? 'ai-voice-sip-server',
    };
  }

  /** Notifications not yet delivered or given up. */
  get pendingCount(): number {
    return this.pending;
  }

  /** Queue `payload` for `url`; `key` (the Call-ID) orders notifications of one call. Returns false when dropped. */
  notify(url: string, key: string, payload: JsonObject): boolean {
    if (this.closed) return false;
    if (this.pending >= this.opts.maxPending) {
      this.stats.dropped++;
      this.log?.warn({ url, callId: key }, 'webhook dropped: too many pending');
      return false;
    }
    this.pending++;
    const job: Job = { url, body: JSON.stringify(payload), key, attempt: 0 };
    const q = this.queues.get(key);
    if (q) {
      q.push(job);
      return true;
    }
    this.queues.set(key, [job]);
    this.runnable.push(key);
    this.pump();
    return true;
  }

  /** Stop: pending notifications are abandoned, retries cancelled, requests in flight aborted. */
  close(): void {
    this.closed = true;
    for (const t of this.timers) this.clock.clearTimeout(t);
    this.timers.clear();
    for (const a of this.aborts) a.abort();
    this.aborts.clear();
    this.queues.clear();
    this.runnable.length = 0;
    this.pending = 0;
  }

  private pump(): void {
    while (!this.closed && this.inFlight < this.opts.concurrency && this.runnable.length > 0) {
      const key = this.runnable.shift() as string;
      const job = this.queues.get(key)?.[0];
      if (!job) continue;
      this.inFlight++;
      void this.attempt(job).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  private async attempt(job: Job): Promise<void> {
    job.attempt++;
    let outcome: 'ok' | 'retry' | 'fail';
    let detail: string;
    const abort = new AbortController();
    this.aborts.add(abort);
    const timer = this.clock.setTimeout(() => abort.abort(), this.opts.timeoutMs);
    try {
      const headers: Record<string, string> = { 'Content-Type': 'application/json', 'User-Agent': this.opts.userAgent };
      if (this.signingKey) headers[WEBHOOK_SIGNATURE_HEADER] = signWebhook(job.body, this.signingKey);
      const res = await this.fetchFn(job.url, { method: 'POST', headers, body: job.body, signal: abort.signal, redirect: 'error' });
      // Drain the body so the connection can be reused.
      await res.arrayBuffer().catch(() => undefined);
      detail = `HTTP ${res.status}`;
      if (res.ok) outcome = 'ok';
      // 408, 429 and 5xx are worth retrying; other 4xx mean the receiver will never take it.
      else if (res.status === 408 || res.status === 429 || res.status >= 500) outcome = 'retry';
      else outcome = 'fail';
    } catch (err) {
      detail = err instanceof Error ? err.message : String(err);
      outcome = 'retry';
    } finally {
      this.clock.clearTimeout(timer);
      this.aborts.delete(abort);
    }
    if (this.closed) return;
    if (outcome === 'retry' && job.attempt < this.opts.maxAttempts) {
      this.stats.retries++;
      const exp = Math.min(this.opts.maxDelayMs, this.opts.baseDelayMs * 2 ** (job.attempt - 1));
      // Full jitter within [exp/2, exp]: receivers that recover are not hit by every server at the same instant.
      const delay = exp / 2 + Math.random() * (exp / 2);
      this.log?.debug({ url: job.url, callId: job.key, attempt: job.attempt, detail, delayMs: Math.round(delay) }, 'webhook retry scheduled');
      const t = this.clock.setTimeout(() => {
        this.timers.delete(t);
        this.runnable.push(job.key);
        this.pump();
      }, delay);
      this.timers.add(t);
      return;
    }
    if (outcome === 'ok') this.stats.delivered++;
    else {
      this.stats.failed++;
      this.log?.warn({ url: job.url, callId: job.key, attempts: job.attempt, detail }, 'webhook delivery failed');
    }
    this.pending--;
    const q = this.queues.get(job.key);
    q?.shift();
    if (q && q.length > 0) this.runnable.push(job.key);
    else this.queues.delete(job.key);
  }
}
