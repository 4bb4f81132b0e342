import type { SmsMetrics } from '../observability';
import { silentLogger, type RequestHandler, type SipTarget, type UaLogger } from '../sip/ua';
import type { SipRequest } from '../sip/message';
import type { BlockedNumberRepository, JsonObject, NewOutboundSms, NumberRepository, SmsDirection, SmsRecord, SmsRecordStatus, SmsRepository } from '../store';
import { CodedError, InvalidStateError, systemClock, type Clock } from '../util';
import type { DeliveryReceipt } from './delivery-receipt';
import { InboundSmsHandler, type InboundSmsHandlerOptions } from './inbound-sms-handler';
import { DEFAULT_RETRY_POLICY, checkRetryPolicy, type RetryPolicy } from './retry-policy';
import { countSegments, type SmsEncoding } from './segmentation';
import type { SmsSender } from './sms-sender';
import { SmsWorker, type SmsAttemptOutcome } from './sms-worker';
import { WebhookDispatcher, type WebhookDispatcherOptions } from './webhook-dispatcher';
import { WriteBatcher } from './write-batcher';

/** A refused send request (REST: 400 with `field`). */
export class SmsValidationError extends CodedError {
  constructor(
    message: string,
    readonly field: string,
  ) {
    super('SMS_INVALID', message);
  }
}

/** POST /api/sms/send, after JSON validation. */
export interface SmsSendInput {
  from: string;
  to: string;
  body: string;
  /** Status changes of this message are POSTed here (sms.status events). */
  webhookUrl?: string;
  /** Send through this trunk instead of the route choice. */
  trunkId?: string;
  metadata?: JsonObject;
}

/** The 202 answer: stored and queued. */
export interface AcceptedSms {
  id: string;
  status: 'queued';
  segments: number;
  encoding: SmsEncoding;
  createdAt: Date;
}

/** A message as the API shows it. */
export interface SmsView {
  id: string;
  direction: SmsDirection;
  from: string;
  to: string;
  body: string;
  status: SmsRecordStatus;
  segments: number;
  encoding: SmsEncoding;
  attempts: number;
  maxAttempts: number;
  /** Final SIP status of the last attempt. */
  lastStatus: number | null;
  lastError: string | null;
  nextAttemptAt: Date | null;
  trunkId: string | null;
  sipCallId: string | null;
  metadata: JsonObject;
  createdAt: Date;
  sentAt: Date | null;
  deliveredAt: Date | null;
  updatedAt: Date;
}

export interface SmsHistoryFilter {
  /** Either party. */
  number?: string;
  direction?: SmsDirection;
  status?: SmsRecordStatus | readonly SmsRecordStatus[];
  /** created_at >= since */
  since?: Date;
  /** created_at < until */
  until?: Date;
  limit?: number;
  cursor?: string;
}

export interface SmsHistoryPage {
  items: SmsView[];
  nextCursor: string | null;
}

/** Receives inbound texts for the AI platform (wired by the bridge). */
export type InboundSmsListener = (sms: SmsView) => void | Promise<void>;

export interface SmsServiceOptions {
  repositories: { sms: SmsRepository; blockedNumbers: BlockedNumberRepository; numbers: NumberRepository };
  sender: SmsSender;
  /** Lease owner name of this instance's worker. */
  instanceId: string;
  clock?: Clock;
  retry?: Partial<RetryPolicy>;
  worker?: { batchSize?: number; concurrency?: number; pollIntervalMs?: number; leaseMs?: number; maintenanceIntervalMs?: number };
  /** One MESSAGE per segment (with X-SMS-Concat) instead of the whole text: all messages, or per message/trunk. */
  segmentOutbound?: boolean | ((record: SmsRecord) => boolean | Promise<boolean>);
  /** Longest text accepted, in segments. Default 10. */
  maxSegments?: number;
  /** Parts of an inbound message waited for at most, ms; then what arrived is stored marked incomplete. Default 10 min. */
  inboundPartTimeoutMs?: number;
  onInbound?: InboundSmsListener;
  /** A dispatcher to share, or options for our own. */
  webhooks?: WebhookDispatcher | WebhookDispatcherOptions;
  acceptNumber?: (number: string) => boolean | Promise<boolean>;
  trunkOf?: (source: SipTarget, request: SipRequest) => string | undefined;
  /** Inbound identification for MESSAGE, as for INVITE (InboundSmsHandlerOptions.inbound). */
  inbound?: InboundSmsHandlerOptions['inbound'];
  /** Sources accepted without `inbound` (the SMS gateway). */
  trustedSource?: InboundSmsHandlerOptions['trustedSource'];
  metrics?: SmsMetrics;
  logger?: UaLogger;
  random?: () => number;
}

// Sender IDs: E.164 numbers, short codes, SIP user names and alphanumeric sender names.
const ADDRESS = /^\+?[A-Za-z0-9][A-Za-z0-9._*#-]{0,63}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function toView(r: SmsRecord): SmsView {
  return {
    id: r.id,
    direction: r.direction,
    from: r.fromNumber,
    to: r.toNumber,
    body: r.body,
    status: r.status,
    segments: r.segments,
    encoding: r.encoding ?? countSegments(r.body).encoding,
    attempts: r.attempts,
    maxAttempts: r.maxAttempts,
    lastStatus: r.sipCode,
    lastError: r.lastError,
    nextAttemptAt: r.nextAttemptAt,
    trunkId: r.trunkId,
    sipCallId: r.sipCallId,
    metadata: r.metadata,
    createdAt: r.createdAt,
    sentAt: r.sentAt,
    deliveredAt: r.deliveredAt,
    updatedAt: r.updatedAt,
  };
}

/**
 * SMS over SIP MESSAGE: the service the REST API, the UA core and the AI bridge use.
 * - `accept` stores an outbound message as `queued` and only then resolves (the API answers 202 after it), so a
 *   kill -9 never loses an acknowledged message; the queue is in PostgreSQL and survives restarts.
 * - the worker (`startWorker`) sends queued messages with retries; any number of instances may run one.
 * - `handleInbound` serves `ua.handle('MESSAGE', ...)`: texts are stored, answered 200, forwarded to `onInbound`
 *   and the number's SMS webhook; receipts move outbound messages to `delivered`.
 */
export class SmsService {
  /** Inbound texts for the AI platform; set by the bridge. Errors are logged, never answered to the trunk. */
  onInbound: InboundSmsListener | undefined;
  /** For `ua.handle('MESSAGE', sms.handleInbound)`. */
  readonly handleInbound: RequestHandler;

  private readonly repo: SmsRepository;
  private readonly numbers: NumberRepository;
  private readonly worker: SmsWorker;
  private readonly webhooks: WebhookDispatcher;
  private readonly ownsWebhooks: boolean;
  private readonly maxSegments: number;
  private readonly maxAttempts: number;
  private readonly log: UaLogger;
  private readonly metrics: SmsMetrics | undefined;
  private readonly inboundPartTimeoutMs: number;
  private readonly enqueuer: WriteBatcher<NewOutboundSms, SmsRecord | Error>;
  private queueDepth = 0;
  private closed = false;

  constructor(opts: SmsServiceOptions) {
    const clock = opts.clock ?? systemClock;
    this.repo = opts.repositories.sms;
    this.numbers = opts.repositories.numbers;
    this.log = opts.logger ?? silentLogger;
    this.metrics = opts.metrics;
    this.onInbound = opts.onInbound;
    this.maxSegments = opts.maxSegments ?? 10;
    this.inboundPartTimeoutMs = opts.inboundPartTimeoutMs ?? 10 * 60_000;
    const retry = checkRetryPolicy({ ...DEFAULT_RETRY_POLICY, ...opts.retry });
    this.maxAttempts = retry.maxAttempts;
    if (opts.webhooks instanceof WebhookDispatcher) {
      this.webhooks = opts.webhooks;
      this.ownsWebhooks = false;
    } else {
      this.webhooks = new WebhookDispatcher({ clock, logger: this.log, ...opts.webhooks });
      this.ownsWebhooks = true;
    }
    const segment = opts.segmentOutbound;
    this.worker = new SmsWorker({
      repository: this.repo,
      sender: opts.sender,
      instanceId: opts.instanceId,
      retry,
      clock,
      ...opts.worker,
      segmentOutbound: typeof segment === 'function' ? segment : () => segment === true,
      maintenance: () => this.maintain(),
      onOutcome: (o) => this.outcome(o),
      logger: this.log,
      random: opts.random,
    });
    const inbound = new InboundSmsHandler({
      repository: this.repo,
      isBlocked: (n) => opts.repositories.blockedNumbers.isBlocked(n),
      acceptNumber: opts.acceptNumber,
      trunkOf: opts.trunkOf,
      inbound: opts.inbound,
      trustedSource: opts.trustedSource,
      onStored: (r) => this.forwardInbound(r),
      onReceipt: (r) => this.applyReceipt(r),
      logger: this.log,
    });
    this.handleInbound = inbound.handle;
    // Concurrent accepts share one INSERT and one commit (each still resolves only after its row is committed).
    this.enqueuer = new WriteBatcher((items) => this.enqueueBatch(items), 256, 4);
    this.metrics?.setQueueDepthSource(() => this.queueDepth);
  }

  /**
   * Validate, count segments, store as `queued` (committed before this resolves) and wake the local worker.
   * Throws SmsValidationError for bad input; database errors propagate (the API answers 5xx: nothing was queued).
   */
  async accept(input: SmsSendInput): Promise<AcceptedSms> {
    if (this.closed) throw new InvalidStateError('SmsService is closed');
    if (typeof input.from !== 'string' || !ADDRESS.test(input.from)) throw new SmsValidationError('from must be a phone number or sender id', 'from');
    if (typeof input.to !== 'string' || !ADDRESS.test(input.to)) throw new SmsValidationError('to must be a phone number', 'to');
    if (typeof input.body !== 'string' || input.body.length === 0) throw new SmsValidationError('message must not be empty', 'message');
    if (input.body.includes('\u0000')) throw new SmsValidationError('message must not contain NUL characters', 'message');
    if (input.trunkId !== undefined && !UUID.test(input.trunkId)) throw new SmsValidationError('trunk_id must be a UUID', 'trunk_id');
    if (input.webhookUrl !== undefined && !/^https?:\/\/\S+$/i.test(input.webhookUrl)) throw new SmsValidationError('webhook_url must be an http(s) URL', 'webhook_url');
    const info = countSegments(input.body);
    if (info.segments > this.maxSegments) {
      throw new SmsValidationError(`message takes ${info.segments} segments (${info.encoding}); at most ${this.maxSegments} are allowed`, 'message');
    }
    const stored = await this.enqueuer.add({
      fromNumber: input.from,
      toNumber: input.to,
      body: input.body,
      segments: info.segments,
      encoding: info.encoding,
      maxAttempts: this.maxAttempts,
      trunkId: input.trunkId,
      webhookUrl: input.webhookUrl,
      metadata: input.metadata,
    });
    if (stored instanceof Error) throw stored;
    const rec = stored;
    this.metrics?.message('out', 'queued');
    this.queueDepth++;
    this.worker.kick();
    return { id: rec.id, status: 'queued', segments: info.segments, encoding: info.encoding, createdAt: rec.createdAt };
  }

  private async enqueueBatch(items: NewOutboundSms[]): Promise<(SmsRecord | Error)[]> {
    if (items.length === 1) return [await this.repo.enqueue(items[0])];
    try {
      return await this.repo.enqueueMany(items);
    } catch {
      // One bad row (e.g. an unknown trunk id) fails the statement: store the others one by one so only the bad
      // request is refused. Each accept settles with its own row or its own error.
      const out = await Promise.allSettled(items.map((m) => this.repo.enqueue(m)));
      return out.map((o) => (o.status === 'fulfilled' ? o.value : o.reason instanceof Error ? o.reason : new Error(String(o.reason))));
    }
  }

  /** A message by id (status, attempts, segments); undefined when unknown or not a UUID. */
  async get(id: string): Promise<SmsView | undefined> {
    const rec = await this.repo.get(id);
    return rec ? toView(rec) : undefined;
  }

  /** Newest first; `nextCursor` pages on. Throws InvalidCursorError (store) for a cursor we did not issue. */
  async history(filter: SmsHistoryFilter = {}): Promise<SmsHistoryPage> {
    const page = await this.repo.list({
      number: filter.number,
      direction: filter.direction,
      status: filter.status,
      from: filter.since,
      to: filter.until,
      limit: filter.limit,
      cursor: filter.cursor,
    });
    return { items: page.items.map(toView), nextCursor: page.nextCursor };
  }

  startWorker(): void {
    if (this.closed) throw new InvalidStateError('SmsService is closed');
    this.worker.start();
  }

  /** Finish the round in progress (every claimed message gets its outcome written), then stop. */
  stopWorker(): Promise<void> {
    return this.worker.stop();
  }

  get workerRunning(): boolean {
    return this.worker.running;
  }

  /** Claim and send one batch now (tools, benchmarks); resolves with the number claimed. */
  processQueueOnce(): Promise<number> {
    return this.worker.runOnce();
  }

  /** Housekeeping: store overdue incomplete inbound sets, refresh the queue depth gauge. */
  async maintain(): Promise<void> {
    const expired = await this.repo.expireInboundParts(this.inboundPartTimeoutMs);
    for (const r of expired) {
      this.log.warn({ smsId: r.id, from: r.fromNumber, to: r.toNumber, metadata: r.metadata }, 'inbound SMS stored with missing parts');
      this.forwardInbound(r);
    }
    this.queueDepth = await this.repo.queueDepth();
  }

  /** Stop the worker and webhook retries. The database is not closed (it is shared). Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.worker.stop();
    if (this.ownsWebhooks) await this.webhooks.close();
  }

  private outcome(o: SmsAttemptOutcome): void {
    const rec = o.record;
    if (!rec) return;
    if (o.verdict === 'sent' || o.verdict === 'failed') {
      this.queueDepth = Math.max(0, this.queueDepth - 1);
      this.metrics?.message('out', o.verdict);
      this.log.info({ smsId: rec.id, status: rec.status, attempts: rec.attempts, sipCode: o.result.status }, `SMS ${rec.status}`);
    } else {
      this.log.info({ smsId: rec.id, attempts: rec.attempts, sipCode: o.result.status, nextAttemptAt: rec.nextAttemptAt }, 'SMS attempt failed: retry scheduled');
    }
    this.notifyStatus(rec);
  }

  private notifyStatus(rec: SmsRecord): void {
    if (rec.webhookUrl) this.webhooks.post(rec.webhookUrl, 'sms.status', { message: toView(rec) });
  }

  private async applyReceipt(receipt: DeliveryReceipt): Promise<void> {
    const rec = await this.repo.recordReceipt(receipt.messageId, receipt.delivered, receipt.error);
    if (!rec) {
      this.log.debug({ smsId: receipt.messageId, status: receipt.status }, 'delivery receipt for no pending message');
      return;
    }
    this.metrics?.message('out', rec.status === 'delivered' ? 'delivered' : 'failed');
    this.notifyStatus(rec);
  }

  /** After the 200: the AI platform and the number's webhook. Failures there never reach the trunk. */
  private forwardInbound(rec: SmsRecord): void {
    this.metrics?.message('in', 'received');
    const view = toView(rec);
    const listener = this.onInbound;
    if (listener) {
      try {
        Promise.resolve(listener(view)).catch((err: unknown) => this.log.warn({ err, smsId: rec.id }, 'inbound SMS listener failed'));
      } catch (err) {
        this.log.warn({ err, smsId: rec.id }, 'inbound SMS listener failed');
      }
    }
    this.numbers
      .get(rec.toNumber)
      .then((settings) => {
        if (settings?.smsWebhook) this.webhooks.post(settings.smsWebhook, 'sms.received', { message: view });
      })
      .catch((err: unknown) => this.log.warn({ err, smsId: rec.id }, 'SMS webhook lookup failed'));
  }
}
