import { silentLogger, type UaLogger } from '../sip/ua';
import type { SmsAttemptResult, SmsRecord, SmsRepository } from '../store';
import type { Clock, TimerHandle } from '../util';
import { concatRefOf } from './concat-header';
import { classifyStatus, retryDelayMs, type AttemptVerdict, type RetryPolicy } from './retry-policy';
import { splitSegments } from './segmentation';
import { SMS_CONTENT_TYPE, type SmsSender, type SmsSendResult } from './sms-sender';
import { WriteBatcher } from './write-batcher';

/** What became of one claimed message. `record` is the row after our write (undefined: the lease was lost). */
export interface SmsAttemptOutcome {
  readonly verdict: AttemptVerdict;
  readonly result: SmsSendResult;
  readonly messageId: string;
  readonly record: SmsRecord | undefined;
}

export interface SmsWorkerOptions {
  repository: SmsRepository;
  sender: SmsSender;
  /** Lease owner name: unique per running instance. */
  instanceId: string;
  retry: RetryPolicy;
  clock: Clock;
  /** Messages claimed per round. Default 50. */
  batchSize?: number;
  /**
   * MESSAGEs in flight at once (default: the batch size). Bounds the burst a trunk sees: UDP datagrams beyond a
   * peer's receive buffer are lost and only recovered by retransmission after T1.
   */
  concurrency?: number;
  /** Idle wait between polls when the queue is empty, ms. Default 1 s (accept() wakes the local worker at once). */
  pollIntervalMs?: number;
  /** Lease length, ms: longer than one MESSAGE transaction (Timer F, 32 s). Default 60 s. */
  leaseMs?: number;
  /** Whether a multi-segment message goes one MESSAGE per part (the trunk wants segments) or whole. */
  segmentOutbound?: (record: SmsRecord) => boolean | Promise<boolean>;
  /** Housekeeping run between rounds at most every `maintenanceIntervalMs` (default 5 s). */
  maintenance?: () => Promise<void>;
  maintenanceIntervalMs?: number;
  onOutcome?: (outcome: SmsAttemptOutcome) => void;
  logger?: UaLogger;
  random?: () => number;
}

/**
 * Works the durable outbound queue: claims due messages with a lease (SmsRepository.claimDue, FOR UPDATE SKIP
 * LOCKED, so any number of instances can run one), sends each through the SmsSender, and records the outcome
 * fenced by the lease. 2xx -> sent; 408, 5xx, no response -> queued again with exponential backoff until
 * max attempts, then failed; any other final status -> failed.
 */
export class SmsWorker {
  private readonly repo: SmsRepository;
  private readonly batchSize: number;
  private readonly concurrency: number;
  private readonly pollIntervalMs: number;
  private readonly leaseMs: number;
  private readonly maintenanceIntervalMs: number;
  private readonly log: UaLogger;
  private readonly random: () => number;
  private loop: Promise<void> | undefined;
  private stopping = false;
  private kicked = false;
  private wake: (() => void) | undefined;
  private sleepTimer: TimerHandle | undefined;
  private lastMaintenance = Number.NEGATIVE_INFINITY;
  /** The common outcome is written in groups: concurrent 2xx of one round share a statement and a commit. */
  private readonly sentWriter: WriteBatcher<{ id: string; result: SmsAttemptResult }, SmsRecord | undefined>;

  constructor(private readonly opts: SmsWorkerOptions) {
    this.repo = opts.repository;
    this.batchSize = Math.max(1, opts.batchSize ?? 50);
    this.concurrency = Math.max(1, opts.concurrency ?? this.batchSize);
    this.pollIntervalMs = opts.pollIntervalMs ?? 1_000;
    this.leaseMs = opts.leaseMs ?? 60_000;
    this.maintenanceIntervalMs = opts.maintenanceIntervalMs ?? 5_000;
    this.log = opts.logger ?? silentLogger;
    this.random = opts.random ?? Math.random;
    this.sentWriter = new WriteBatcher((items) => this.repo.markSentMany(opts.instanceId, items), this.batchSize, 2);
  }

  get running(): boolean {
    return this.loop !== undefined;
  }

  /** Start polling. Idempotent. */
  start(): void {
    if (this.loop) return;
    this.stopping = false;
    this.loop = this.run();
  }

  /** Stop after the round in progress: every claimed message gets its outcome written first. Idempotent. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.kick();
    const loop = this.loop;
    if (loop) await loop;
    this.loop = undefined;
  }

  /** New work may be due: end the idle wait now. */
  kick(): void {
    this.kicked = true;
    const wake = this.wake;
    if (wake) {
      this.wake = undefined;
      this.opts.clock.clearTimeout(this.sleepTimer);
      wake();
    }
  }

  /** Claim one batch and process it; resolves with the number of messages claimed. */
  async runOnce(): Promise<number> {
    const claimed = await this.repo.claimDue(this.opts.instanceId, this.batchSize, this.leaseMs);
    if (claimed.length <= this.concurrency) {
      await Promise.all(claimed.map((m) => this.process(m)));
    } else {
      let next = 0;
      const runner = async (): Promise<void> => {
        while (next < claimed.length) await this.process(claimed[next++]);
      };
      await Promise.all(Array.from({ length: this.concurrency }, runner));
    }
    return claimed.length;
  }

  private async run(): Promise<void> {
    await this.releaseLeftLeases();
    while (!this.stopping) {
      let claimed: number;
      this.kicked = false;
      try {
        claimed = await this.runOnce();
        await this.maybeMaintain();
      } catch (err) {
        // Database unreachable or similar: keep the loop alive, try again after the poll interval.
        this.log.error({ err, instanceId: this.opts.instanceId }, 'SMS queue round failed');
        claimed = 0;
      }
      // A full batch means more may be due right away; otherwise wait for a poll or a kick.
      if (claimed < this.batchSize && !this.kicked && !this.stopping) await this.sleep(this.pollIntervalMs);
    }
  }

  /**
   * Messages this instance id had claimed when its previous process died are sent again now rather than after
   * their lease runs out (issue 7: killed between accept and send, sent after restart). Best effort: when it
   * fails, the lease expiry still returns them to the queue.
   */
  private async releaseLeftLeases(): Promise<void> {
    try {
      const n = await this.repo.releaseLeases(this.opts.instanceId);
      if (n > 0) this.log.warn({ released: n, instanceId: this.opts.instanceId }, 'SMS left sending by a previous run queued again');
    } catch (err) {
      this.log.error({ err, instanceId: this.opts.instanceId }, 'releasing SMS leases of a previous run failed');
    }
  }

  private async maybeMaintain(): Promise<void> {
    const maintenance = this.opts.maintenance;
    if (!maintenance) return;
    const now = this.opts.clock.now();
    if (now - this.lastMaintenance < this.maintenanceIntervalMs) return;
    this.lastMaintenance = now;
    await maintenance();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      this.wake = resolve;
      this.sleepTimer = this.opts.clock.setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
    });
  }

  private async send(rec: SmsRecord, text: string, segment: { ref: number; seq: number; total: number } | undefined): Promise<SmsSendResult> {
    try {
      return await this.opts.sender.send({
        messageId: rec.id,
        attempt: rec.attempts,
        from: rec.fromNumber,
        to: rec.toNumber,
        body: Buffer.from(text, 'utf8'),
        contentType: SMS_CONTENT_TYPE,
        trunkId: rec.trunkId,
        ...(segment ? { segment } : {}),
      });
    } catch (err) {
      // The SmsSender contract says it does not throw; if one does, treat it as a transport failure (503).
      return { status: 503, reason: err instanceof Error ? err.message : String(err) };
    }
  }

  private async process(rec: SmsRecord): Promise<void> {
    const id = rec.id;
    const instance = this.opts.instanceId;
    let result: SmsSendResult = { status: 200, reason: 'all parts already acknowledged' };
    let verdict: AttemptVerdict = 'sent';
    let record: SmsRecord | undefined;
    try {
      if (rec.attempts > rec.maxAttempts) {
        // Only reachable through expired leases (a worker died mid-send, possibly more than once).
        result = { status: rec.sipCode ?? 0, reason: 'max attempts reached' };
        verdict = 'failed';
        record = await this.repo.markFailed(id, instance, { sipCode: result.status, error: result.reason });
      } else {
        const segmented = rec.segments > 1 && (await this.opts.segmentOutbound?.(rec)) === true;
        const parts = segmented ? splitSegments(rec.body) : [rec.body];
        const ref = concatRefOf(id);
        for (let i = segmented ? Math.min(rec.segmentsSent, parts.length) : 0; i < parts.length; i++) {
          result = await this.send(rec, parts[i], parts.length > 1 ? { ref, seq: i + 1, total: parts.length } : undefined);
          verdict = classifyStatus(result.status);
          if (verdict !== 'sent') break;
          if (i + 1 < parts.length) await this.repo.recordSegmentsSent(id, instance, i + 1, this.leaseMs, result.callId);
        }
        const attempt = { sipCode: result.status, error: verdict === 'sent' ? undefined : `${result.status} ${result.reason}`.trim(), sipCallId: result.callId };
        if (verdict === 'sent') {
          record = await this.sentWriter.add({ id, result: attempt });
        } else if (verdict === 'retry' && rec.attempts < rec.maxAttempts) {
          record = await this.repo.scheduleRetry(id, instance, retryDelayMs(this.opts.retry, rec.attempts, this.random, result.retryAfterMs), attempt);
        } else {
          verdict = 'failed';
          record = await this.repo.markFailed(id, instance, attempt);
        }
      }
      if (!record) this.log.warn({ smsId: id, verdict, status: result.status }, 'SMS lease lost before the outcome was written');
    } catch (err) {
      // The outcome could not be written: the lease expires and the message is claimed again (a possible resend,
      // which the stable Call-ID / X-SMS-Message-ID lets the peer drop).
      this.log.error({ err, smsId: id }, 'SMS outcome not recorded');
      return;
    }
    this.opts.onOutcome?.({ verdict, result, messageId: id, record });
  }
}
