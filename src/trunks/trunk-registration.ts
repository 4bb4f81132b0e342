import { InvalidStateError, type Clock, type TimerHandle } from '../util';
import { generateCallId, parseUri, type SipResponse, type SipUri } from '../sip/message';
import { DigestClient, type DigestCredentials } from '../sip/auth';
import { SipRequestError, type SipTarget } from '../sip/ua';
import type { TrunkAttemptResult } from './failover';
import { silentTrunkLogger, type TrunkLogger, type TrunkRequester } from './trunk-requester';

/** Where a trunk registration stands. */
export type RegistrationState = 'unregistered' | 'registering' | 'registered' | 'failed';

/** What to register, resolved from a trunk record. */
export interface RegistrationParams {
  /** Request-URI: the registrar's domain, no user part (RFC 3261 §10.2). */
  readonly registrarUri: string;
  /** Address of record, put in To and From (RFC 3261 §10.2). */
  readonly aor: string;
  /** Our Contact URI in angle brackets, without expires. */
  readonly contact: string;
  /** Next hop (the trunk's proxy), resolved again at each attempt so DNS changes are followed. */
  readonly resolveTarget: () => Promise<SipTarget>;
  readonly credentials?: DigestCredentials;
  /** Interval we ask for (the registrar may shorten it, or ask for longer with 423). */
  readonly expiresS: number;
}

export interface RegistrationOptions {
  readonly clock: Clock;
  readonly requester: TrunkRequester;
  readonly logger?: TrunkLogger;
  /** Jitter source of the retry backoff. Default Math.random. */
  readonly random?: () => number;
  /** First retry delay after a failure; doubles per consecutive failure. Default 5 s. */
  readonly retryBaseMs?: number;
  /** Cap of the retry delay. Default 300 s. */
  readonly retryMaxMs?: number;
  /**
   * Refresh this long before the binding expires (but never before half its lifetime). Default 60 s: room for a
   * whole non-INVITE transaction (Timer F = 64*T1 = 32 s) before the provider drops the binding.
   */
  readonly refreshMarginS?: number;
  /** Called after every state change or attempt. */
  readonly onChange?: (reg: TrunkRegistration) => void;
  /** Every final outcome of a REGISTER (for trunk health: a timeout is a miss, any answer proves it alive). */
  readonly onResult?: (result: TrunkAttemptResult) => void;
}

/** A snapshot for the API and status pages. Times are wall-clock ms. */
export interface RegistrationSnapshot {
  readonly state: RegistrationState;
  /** Last final status (408 for a timeout, 503 for a transport error); null before the first answer. */
  readonly lastCode: number | null;
  readonly lastError: string | null;
  /** When the provider's binding runs out (registered only). */
  readonly expiresAt: number | null;
  /** When the next REGISTER (refresh or retry) leaves. */
  readonly nextAttemptAt: number | null;
  /** Consecutive failed attempts. */
  readonly failures: number;
  /** Interval the registrar granted last. */
  readonly grantedExpiresS: number | null;
}

/** Rounds of 423 / stale preemptive credentials handled within one attempt. */
const MAX_ROUNDS = 3;
/** CSeq numbers one request may use up with digest retries (the UA core allows 5 challenge rounds). */
const CSEQ_PER_REQUEST = 6;
/** Largest Min-Expires we follow from a 423 (a week). */
const MAX_MIN_EXPIRES_S = 604_800;

/**
 * Outbound registration of one trunk (RFC 3261 §10.2): REGISTER with digest authentication (through the UA core and
 * a DigestClient kept across refreshes, so nonces are reused with growing nonce counts), refreshed before the
 * granted interval runs out, retried with exponential backoff after a failure, removed with Expires: 0.
 */
export class TrunkRegistration {
  private readonly clock: Clock;
  private readonly log: TrunkLogger;
  private readonly random: () => number;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private readonly marginS: number;
  private readonly digest: DigestClient | undefined;
  /** RFC 3261 §10.2: one Call-ID for all registrations of this UA to this registrar; CSeq grows. */
  private readonly callId: string;
  private cseq = 1;
  private expiresS: number;
  private current: RegistrationState = 'unregistered';
  private timer: TimerHandle | undefined;
  private generation = 0;
  private stopped = false;
  private inFlight = 0;
  private snapshotData: Omit<RegistrationSnapshot, 'state'> = {
    lastCode: null,
    lastError: null,
    expiresAt: null,
    nextAttemptAt: null,
    failures: 0,
    grantedExpiresS: null,
  };

  constructor(
    readonly params: RegistrationParams,
    private readonly opts: RegistrationOptions,
  ) {
    if (!(params.expiresS > 0)) throw new TypeError('expiresS must be positive');
    this.clock = opts.clock;
    this.log = opts.logger ?? silentTrunkLogger;
    this.random = opts.random ?? Math.random;
    this.retryBaseMs = opts.retryBaseMs ?? 5_000;
    this.retryMaxMs = Math.max(this.retryBaseMs, opts.retryMaxMs ?? 300_000);
    this.marginS = opts.refreshMarginS ?? 60;
    this.digest = params.credentials ? new DigestClient(params.credentials) : undefined;
    this.callId = generateCallId(opts.requester.publicHost);
    this.expiresS = params.expiresS;
  }

  get state(): RegistrationState {
    return this.current;
  }

  snapshot(): RegistrationSnapshot {
    return { state: this.current, ...this.snapshotData };
  }

  /** Send the first REGISTER now. */
  start(): void {
    if (this.stopped) throw new InvalidStateError('registration stopped');
    this.schedule(0);
  }

  /**
   * Stop refreshing; with `deregister`, remove our binding at the provider (REGISTER with Expires: 0, RFC 3261
   * §10.2.2) when we may hold one. Resolves when the removal is answered, failed, or `timeoutMs` passed.
   */
  async stop(opts: { deregister: boolean; timeoutMs?: number } = { deregister: true }): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.generation++;
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    const mayHoldBinding = this.current === 'registered' || this.inFlight > 0 || (this.snapshotData.expiresAt ?? 0) > this.clock.wallNow();
    this.snapshotData = { ...this.snapshotData, nextAttemptAt: null, expiresAt: null };
    this.setState('unregistered');
    if (!opts.deregister || !mayHoldBinding) return;
    // A REGISTER still in flight may use CSeq numbers up to cseq + CSEQ_PER_REQUEST: stay above them.
    if (this.inFlight > 0) this.cseq += CSEQ_PER_REQUEST;
    let timer: TimerHandle | undefined;
    const deadline = new Promise<void>((resolve) => (timer = this.clock.setTimeout(resolve, opts.timeoutMs ?? 5_000)));
    const removal = this.send(0).then(
      (res) => this.log.info({ aor: this.params.aor, status: res.status }, 'trunk registration removed'),
      (err: unknown) => this.log.warn({ aor: this.params.aor, err }, 'trunk de-registration failed'),
    );
    await Promise.race([removal, deadline]);
    this.clock.clearTimeout(timer);
  }

  private setState(state: RegistrationState): void {
    this.current = state;
    this.opts.onChange?.(this);
  }

  private schedule(ms: number): void {
    this.clock.clearTimeout(this.timer);
    const delay = Math.max(0, Math.round(ms));
    this.snapshotData = { ...this.snapshotData, nextAttemptAt: this.clock.wallNow() + delay };
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      void this.attempt();
    }, delay);
  }

  private async send(expires: number): Promise<SipResponse> {
    const p = this.params;
    const seq = this.cseq;
    this.cseq += 1;
    this.inFlight++;
    try {
      const target = await p.resolveTarget();
      const res = await this.opts.requester.request('REGISTER', p.registrarUri, {
        target,
        from: `<${p.aor}>`,
        to: `<${p.aor}>`,
        callId: this.callId,
        cseq: seq,
        digest: this.digest,
        headers: [
          ['Contact', expires === 0 ? `${p.contact};expires=0` : p.contact],
          ['Expires', String(expires)],
        ],
      });
      const used = cseqOf(res);
      if (used !== undefined && used + 1 > this.cseq) this.cseq = used + 1;
      return res;
    } catch (err) {
      // Digest retries may have used more numbers than we know of: move well past them.
      this.cseq = Math.max(this.cseq, seq + CSEQ_PER_REQUEST);
      throw err;
    } finally {
      this.inFlight--;
    }
  }

  private async attempt(): Promise<void> {
    const gen = this.generation;
    if (this.stopped) return;
    if (this.current !== 'registered') this.setState('registering');
    let res: SipResponse | undefined;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const preemptive = this.digest?.hasChallenges ?? false;
      try {
        res = await this.send(this.expiresS);
      } catch (err) {
        if (gen !== this.generation) return;
        const status = err instanceof SipRequestError ? err.status : 503;
        this.opts.onResult?.(err instanceof SipRequestError && err.code === 'SIP_REQUEST_TIMEOUT' ? 'timeout' : status);
        this.fail(status, err instanceof Error ? err.message : String(err), undefined);
        return;
      }
      if (gen !== this.generation) return;
      if (res.status === 423) {
        // RFC 3261 §10.2.8: the registrar wants a longer interval; retry at once with its Min-Expires.
        const min = intHeader(res, 'Min-Expires');
        if (min !== undefined && min > this.expiresS && min <= MAX_MIN_EXPIRES_S) {
          this.expiresS = min;
          continue;
        }
      }
      if ((res.status === 401 || res.status === 407) && preemptive && this.digest) {
        // Our preemptive credentials answered an old nonce and the registrar challenged again without stale=true
        // (it forgot the nonce, e.g. after a restart): start over with the new challenge, once.
        this.digest.reset();
        continue;
      }
      break;
    }
    if (!res) return;
    this.opts.onResult?.(res.status);
    if (res.status >= 200 && res.status < 300) {
      this.registered(res);
      return;
    }
    // 403 (credentials refused), 404 (unknown AOR), 401 that our credentials cannot answer, 5xx...: failed, retried.
    this.fail(res.status, res.reason, retryAfterMs(res));
  }

  private registered(res: SipResponse): void {
    const granted = grantedExpires(res, this.params.contact, this.expiresS);
    if (granted <= 0) {
      // RFC 3261 §10.2.4: the binding is gone (the registrar keeps none for us): treat as a failure.
      this.fail(res.status, 'registrar granted no binding', undefined);
      return;
    }
    const now = this.clock.wallNow();
    const refreshS = Math.max(granted / 2, granted - this.marginS);
    this.snapshotData = {
      ...this.snapshotData,
      lastCode: res.status,
      lastError: null,
      failures: 0,
      grantedExpiresS: granted,
      expiresAt: now + granted * 1000,
    };
    const was = this.current;
    this.schedule(refreshS * 1000);
    if (was !== 'registered') {
      this.log.info({ aor: this.params.aor, expires: granted }, 'trunk registered');
      this.setState('registered');
    } else {
      this.opts.onChange?.(this);
    }
  }

  private fail(status: number, reason: string, retryAfter: number | undefined): void {
    const failures = this.snapshotData.failures + 1;
    const backoff = Math.min(this.retryMaxMs, this.retryBaseMs * Math.pow(2, Math.min(failures - 1, 30)));
    // ±20% jitter so trunks (and instances) that failed together do not retry in lockstep.
    let delay = backoff * (0.8 + 0.4 * this.random());
    if (retryAfter !== undefined) delay = Math.min(this.retryMaxMs, Math.max(delay, retryAfter));
    this.snapshotData = { ...this.snapshotData, lastCode: status, lastError: reason, failures };
    if ((this.snapshotData.expiresAt ?? 0) <= this.clock.wallNow()) this.snapshotData = { ...this.snapshotData, expiresAt: null };
    this.log.warn({ aor: this.params.aor, status, reason, failures, retryInMs: Math.round(delay) }, 'trunk registration failed');
    this.schedule(delay);
    this.setState('failed');
  }
}

function cseqOf(res: SipResponse): number | undefined {
  try {
    return res.cseq.seq;
  } catch {
    return undefined;
  }
}

function intHeader(res: SipResponse, name: string): number | undefined {
  const v = res.getHeader(name);
  if (v === undefined) return undefined;
  const m = /^\s*(\d{1,10})/.exec(v);
  return m ? Number(m[1]) : undefined;
}

/** RFC 3261 §20.33: Retry-After seconds of a 5xx (or 404/413/480/486/600/603), in ms. */
function retryAfterMs(res: SipResponse): number | undefined {
  const s = intHeader(res, 'Retry-After');
  return s === undefined ? undefined : s * 1000;
}

function sameContact(a: SipUri, b: SipUri): boolean {
  return a.scheme === b.scheme && (a.user ?? '') === (b.user ?? '') && a.host === b.host && (a.port ?? 5060) === (b.port ?? 5060);
}

/**
 * RFC 3261 §10.2.4: the interval granted to our binding is the `expires` parameter of our Contact in the 200 OK,
 * else the Expires header, else what we asked for.
 */
export function grantedExpires(res: SipResponse, contact: string, requested: number): number {
  const ours = parseUri(contact.replace(/^<|>$/g, ''));
  try {
    const contacts = res.contacts;
    const match = ours ? contacts.find((c) => sameContact(c.uri, ours)) : undefined;
    const chosen = match ?? (contacts.length === 1 ? contacts[0] : undefined);
    const param = chosen?.params.get('expires');
    if (typeof param === 'string' && /^\d+$/.test(param)) return Number(param);
  } catch {
    // An unreadable Contact list: fall back to Expires.
  }
  const header = intHeader(res, 'Expires');
  return header ?? requested;
}
