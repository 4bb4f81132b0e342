import { systemClock, type Clock, type TimerHandle } from '../util';
import { formatUri, parseUri, type SipUri } from '../sip/message';
import type { DigestCredentials } from '../sip/auth';
import type { InDialogRequest, ServerInviteSession, SipUserAgent } from '../sip/ua';
import type { SessionTimerPolicy } from '../sip/dialog';
import { ringbackSequence } from '../dsp';
import type { MediaEngine, MediaSession, PlaybackSource } from '../media';
import { Call, type CallEnding } from './call';
import type { CallApp, CallAppContext, TransferMode } from './call-app';
import { CallControlError, type ActiveCallInfo, type CallControl, type OriginateRequest, type TransferRequest, type TransferResult } from './call-control';
import { finalStateOfStatus, type CallState, type FinalCallState } from './call-state';
import type { CallStore, HangupSide, NumberRouting, RingMode } from './call-store';
import { CdrTracker, type CallMetricsSink } from './cdr-tracker';
import { CdrWriter } from './cdr-writer';
import { parseForwardRules, type ForwardRules } from './forward-rules';
import { parseReplacesHeader } from './replaces-header';
import { formatRoute, parseRoute, type RouteSpec } from './route-spec';
import { SipLeg, type LegEnd, type LegRefusal, type SipLegOptions } from './sip-leg';
import { ContactFork } from './contact-fork';
import { TrunkFailover, type InboundAuthDecision, type InboundPolicy, type LocalContact, type LocalUserLocator, type OutboundRoute, type OutboundRouter, type TrunkTryResult } from './outbound-router';
import type { WebhookNotifier } from './webhook-notifier';

/** Logging surface of call control (the observability logger satisfies it). */
export interface CallLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** The static outbound trunk (OUTBOUND_PROXY / OUTBOUND_USERNAME / OUTBOUND_PASSWORD) until trunks are managed. */
export interface OutboundTrunkConfig {
  /** `host[:port][;transport=tcp|tls]`, or a sip: URI of the proxy. */
  proxy: string | undefined;
  username: string | undefined;
  password: string | undefined;
}

export interface CallManagerOptions {
  ua: SipUserAgent;
  media: MediaEngine;
  store: CallStore;
  instanceId: string;
  /** Address in our SDP and the host of our From URIs. */
  mediaAddress: string;
  /** RTP timeout (RTP_TIMEOUT_S) in ms; 0 disables. */
  mediaTimeoutMs: number;
  /** DEFAULT_ROUTE: numbers without settings. */
  defaultRoute: string;
  /** SIP_TEST_NUMBER: always the answer route. */
  testNumber?: string;
  /** SIP_ANSWER_DELAY_MS: ring this long before the built-in routes answer. */
  answerDelayMs?: number;
  /** Final status for blocked callers (default 603 Decline, RFC 3261 §21.6.2). */
  blockedStatus?: number;
  /** Server default of how callers hear ringing (default `ringback`: 180, the phone plays it). */
  ringMode?: RingMode;
  /** WAV played to held parties (MOH_DIR) until setHoldMusic() is called; undefined = a soft generated tone. */
  musicOnHold?: string;
  /** The static trunk: used for numbers when `router` has no outbound trunk at all. */
  outbound?: OutboundTrunkConfig;
  /** Managed trunks (the trunk registry): outbound route choice, failover, channel limits. */
  router?: OutboundRouter;
  /** Inbound identification of trunks by source address; unknown sources to our numbers are refused with 403. */
  inbound?: InboundPolicy;
  /** The registrar's location service: calls to a registered user ring its contacts. */
  localUsers?: LocalUserLocator;
  /** RFC 4028 policy for INVITEs we answer; false disables session timers. Default 1800 s, Min-SE 90 s. */
  sessionTimer?: SessionTimerPolicy | false;
  /** Ring time of a forwarded leg without a no-answer rule, seconds (default 60). */
  forwardTimeoutS?: number;
  webhooks?: WebhookNotifier;
  metrics?: CallMetricsSink;
  /** RTP totals of each leg, reported when the leg ends (observability's Metrics.rtp satisfies it). */
  rtpMetrics?: RtpMetricsSink;
  logger: CallLogger;
  clock?: Clock;
  /** Media sessions as they open (observability, tests). */
  onMediaSession?(callId: string, media: MediaSession): void;
}

/** RTP counters call control reports per leg at its end. */
export interface RtpMetricsSink {
  packetsIn(count?: number): void;
  packetsOut(count?: number): void;
  packetsLost(count: number): void;
  jitter(seconds: number): void;
}

interface Destination {
  uri: SipUri;
  credentials: DigestCredentials | undefined;
}

/** An outbound call placed through the managed trunks: what every failover attempt needs. */
interface TrunkCall {
  readonly failover: TrunkFailover;
  readonly from: string;
  readonly fromDisplay: string | undefined;
  readonly headers: [string, string][] | undefined;
  /** Monotonic ms after which we stop ringing (the caller's timeoutS covers every attempt together). */
  readonly deadline: number;
  readonly route: RouteSpec;
  /** Entries of `failover.tried` already written to the CDR. */
  written: number;
}

/** Reason header values (RFC 3326) we put on the BYE/CANCEL when we end a call ourselves. */
const REASONS: Readonly<Record<string, string>> = {
  'media-timeout': 'SIP;cause=408;text="RTP timeout"',
  'session-timeout': 'SIP;cause=408;text="Session expired"',
  'server-shutdown': 'SIP;cause=503;text="Server shutting down"',
  transferred: 'SIP;cause=200;text="Call transferred"',
};

/** A soft two-tone pattern for hold when no WAV is configured: RTP keeps flowing so NATs and peers stay happy. */
const HOLD_TONE = ringbackSequence({ frequencies: [440, 330], levelDbm0: -26, cadenceMs: [300, 3700] });

/**
 * The B2BUA: takes every new INVITE (inbound routing: blocked callers, number settings, concurrency limits,
 * forwarding), places outbound calls (originate), and runs each call's legs and applications until the end, with
 * a CDR for every call (CdrTracker). Implements the CallControl service for the API and the AI bridge.
 */
/** Music for one held party (`number`: our number of the call, whose track may be configured). */
export type HoldMusicProvider = (held: { callId: string; number: string }) => Promise<PlaybackSource | undefined>;

export class CallManager implements CallControl {
  private readonly opts: CallManagerOptions;
  private readonly clock: Clock;
  private readonly log: CallLogger;
  readonly writer: CdrWriter;
  private readonly tracker: CdrTracker;
  private readonly calls = new Map<string, Call>();
  /** Active inbound calls per dialled number (max_concurrent_calls). */
  private readonly perNumber = new Map<string, number>();
  private readonly apps = new Map<string, CallApp>();
  private readonly legWiring = new Map<SipLeg, () => void>();
  private readonly appEnders = new Map<string, Set<(cause: string) => void>>();
  private readonly appDtmf = new Map<string, Set<(digit: string, source: 'rfc4733' | 'inband' | 'info', durationMs: number | undefined) => void>>();
  /** Outbound calls through managed trunks, by call id, until the call ends (failover state, held channel). */
  private readonly trunkCalls = new Map<string, TrunkCall>();
  private closing = false;
  private holdMusic: HoldMusicProvider | undefined;

  constructor(opts: CallManagerOptions) {
    this.opts = opts;
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger;
    this.writer = new CdrWriter(opts.logger);
    this.tracker = new CdrTracker({ store: opts.store, writer: this.writer, instanceId: opts.instanceId, webhooks: opts.webhooks, metrics: opts.metrics });
  }

  /** Calls in progress. */
  get size(): number {
    return this.calls.size;
  }

  /** The live call object (tests, diagnostics). */
  call(callId: string): Call | undefined {
    return this.calls.get(callId);
  }

  /** Serve `kind` (`ai`, `ivr`, `queue`) with `app`; until registered those routes answer 480. */
  registerApp(kind: 'ai' | 'ivr' | 'queue', app: CallApp): void {
    this.apps.set(kind, app);
  }

  /**
   * Where held parties' music comes from (the music-on-hold library, shared stream or per listener); it replaces the
   * `musicOnHold` file. A provider that has nothing gives the file, else the soft tone.
   */
  setHoldMusic(provider: HoldMusicProvider | undefined): void {
    this.holdMusic = provider;
  }

  /** The app serving `kind`, if registered (an IVR or queue hands a call on to the AI or a queue through it). */
  appOf(kind: 'ai' | 'ivr' | 'queue'): CallApp | undefined {
    return this.apps.get(kind);
  }

  /**
   * Start-up after a crash: CDRs this instance left open are closed with cause `server-restart` (answered ones
   * `completed`, others `failed`), so nothing stays in progress forever. Call before taking traffic.
   */
  async recover(): Promise<number> {
    const n = await this.opts.store.closeOpenCalls(this.opts.instanceId, 'server-restart');
    if (n > 0) this.log.warn({ closed: n, instanceId: this.opts.instanceId }, 'closed calls left open by a previous run');
    // Routing data in memory before the first INVITE, so no call waits for the first load.
    await this.opts.store.warm?.();
    return n;
  }

  /** Stop taking calls, end every call (BYE with Reason 503), and wait for their CDR writes. */
  async close(flushTimeoutMs = 5000): Promise<void> {
    this.closing = true;
    for (const call of [...this.calls.values()]) this.endCall(call, { state: 'completed', cause: 'server-shutdown', side: 'system', sipCode: undefined }, 503);
    let timer: TimerHandle | undefined;
    await Promise.race([
      this.writer.flushAll(),
      new Promise<void>((resolve) => {
        timer = this.clock.setTimeout(resolve, flushTimeoutMs);
      }),
    ]);
    this.clock.clearTimeout(timer);
    await this.opts.store.close?.();
  }

  // ==== inbound ==================================================================================================

  /** The UA's onInvite: a new INVITE outside any dialog. Never throws. */
  handleInvite(session: ServerInviteSession): void {
    if (this.closing) {
      session.reject(503, { reason: 'Service Unavailable (Shutting Down)', headers: [['Retry-After', '5']] });
      return;
    }
    const req = session.request;
    const replaces = req.getHeader('Replaces');
    if (replaces !== undefined) {
      void this.handleReplaces(session, replaces);
      return;
    }
    // Issue 7: a source no trunk's address matches may prove itself a trunk by digest before the call exists.
    const policy = this.opts.inbound;
    if (policy?.authenticate && policy.wantsDigest?.(session.source.address)) {
      this.authenticateInbound(session, policy).catch((err: unknown) => {
        this.log.error({ err, callId: session.callId }, 'inbound authentication failed');
        session.reject(500, { reason: 'Server Internal Error' });
      });
      return;
    }
    this.startInbound(session);
  }

  /**
   * The digest step for an INVITE to one of our numbers from a source that is no trunk (RFC 3261 §22.3). A 407 ends
   * this INVITE transaction without a call or CDR (its ACK stays in the transaction; the caller retries with a new
   * INVITE: same Call-ID, CSeq + 1); a verified trunk or a refusal goes on as an inbound call, so the CDR names the
   * trunk, or records the refusal.
   */
  private async authenticateInbound(session: ServerInviteSession, policy: InboundPolicy): Promise<void> {
    const req = session.request;
    const governed = await this.governedByInbound(numberOf(req.uri) || numberOf(req.to.uri));
    // A CANCEL while we looked (RFC 3261 §9.2) has answered the INVITE 487 already.
    if (session.state === 'Ended') return;
    if (this.closing) {
      session.reject(503, { reason: 'Service Unavailable (Shutting Down)', headers: [['Retry-After', '5']] });
      return;
    }
    if (!governed || !policy.authenticate) {
      this.startInbound(session);
      return;
    }
    const decision = policy.authenticate(req);
    if (decision.kind === 'challenge') {
      session.reject(decision.status, { reason: decision.reason, headers: decision.headers.map(([n, v]): [string, string] => [n, v]) });
      return;
    }
    this.startInbound(session, decision);
  }

  /**
   * Whether the inbound policy governs a call to `to`, as routeInbound decides it: every number but the test number
   * and registered users' extensions (numbers with settings are DIDs even when a phone registered under them).
   */
  private async governedByInbound(to: string): Promise<boolean> {
    if (this.opts.testNumber !== undefined && to === this.opts.testNumber) return false;
    const users = this.opts.localUsers;
    if (!users || to === '') return true;
    if (await this.opts.store.numberRouting(to).catch(() => undefined)) return true;
    const contacts = await users.lookup(to).catch((): readonly LocalContact[] => []);
    return contacts.length === 0;
  }

  /** A new inbound call; `digest`: the outcome of the digest step when it ran. */
  private startInbound(session: ServerInviteSession, digest?: Exclude<InboundAuthDecision, { kind: 'challenge' }>): void {
    const req = session.request;
    const to = numberOf(req.uri) || numberOf(req.to.uri);
    const from = numberOf(req.from.uri) || req.from.uri.host || 'anonymous';
    const leg = new SipLeg(session, 'uas', this.legOptions());
    // A request from a trunk's addresses (or that passed digest auth as the trunk) is that trunk's call (its CDR
    // names the trunk).
    const trunk = digest ? (digest.kind === 'trunk' ? digest.trunk : undefined) : this.opts.inbound?.identify(session.source.address);
    const call = new Call({
      id: session.callId,
      direction: 'inbound',
      from,
      to,
      fromDisplay: req.from.displayName,
      startedAt: this.clock.wallNow(),
      route: parseRoute(this.opts.defaultRoute) ?? { kind: 'reject' },
      a: leg,
      trunkId: trunk?.id,
      metadata: trunk ? { trunk: trunk.name } : undefined,
      remoteAddress: `${session.source.address}:${session.source.port}`,
    });
    this.register(call);
    this.routeInbound(call, session.source.address, digest).catch((err: unknown) => {
      this.log.error({ err, callId: call.id }, 'inbound routing failed');
      this.refuse(call, { status: 500, reason: 'Server Internal Error' }, 'internal-error', 'failed');
    });
  }

  private async routeInbound(call: Call, sourceAddress: string, digest?: Exclude<InboundAuthDecision, { kind: 'challenge' }>): Promise<void> {
    const store = this.opts.store;
    const users = this.opts.localUsers;
    // A database hiccup must not drop calls, so a failed lookup routes as if nothing matched. Blocked numbers and
    // number settings come from memory (RoutingCache); registered users are read only for a number that is no DID.
    const [blocked, settings] = await Promise.all([
      store.isBlocked(call.from).catch((err: unknown) => {
        this.log.warn({ err, callId: call.id }, 'blocked-number lookup failed; not blocking');
        return false;
      }),
      store.numberRouting(call.to).catch((err: unknown) => {
        this.log.warn({ err, callId: call.id }, 'number lookup failed; using the default route');
        return undefined;
      }),
    ]);
    const contacts: readonly LocalContact[] =
      users && call.to !== '' && !settings
        ? await users.lookup(call.to).catch((err: unknown): readonly LocalContact[] => {
            this.log.warn({ err, callId: call.id }, 'registered-user lookup failed');
            return [];
          })
        : [];
    if (call.isEnded || call.a.isEnded) return;
    // A number with settings is a DID (its settings win); otherwise a registered user's extension rings its phones.
    const toUser = !settings && contacts.length > 0 && call.to !== this.opts.testNumber;
    // Inbound identification (issue 7): calls to our numbers from a source that is no trunk are refused with 403
    // (RFC 3261 §21.4.4) unless open inbound is configured; the test number and registered users are not DIDs.
    const policy = this.opts.inbound;
    if (policy) {
      // The digest step, when it ran, has decided (and counted) already.
      const verdict = digest ?? policy.checkInbound(sourceAddress, !toUser && call.to !== this.opts.testNumber);
      if (verdict.kind === 'refused') {
        this.log.info({ callId: call.id, source: sourceAddress, to: call.to, digest: digest !== undefined }, 'INVITE from an unknown source refused');
        this.refuse(call, { status: verdict.status, reason: verdict.reason }, digest ? 'auth-failed' : 'unknown-source', 'failed', true);
        return;
      }
    }
    if (blocked) {
      const status = this.opts.blockedStatus ?? 603;
      this.refuse(call, { status, reason: status === 603 ? 'Decline' : undefined }, 'blocked', 'failed', true);
      return;
    }
    if (settings?.statusCallback) call.webhookUrl = settings.statusCallback;
    if (settings && !settings.enabled) {
      this.refuse(call, { status: 480, reason: 'Temporarily Unavailable (Number Disabled)' }, 'number-disabled', 'failed', true);
      return;
    }
    if (toUser && users) {
      call.route = { kind: 'forward', target: users.aorOf(call.to) };
      call.note('routed', { route: formatRoute(call.route), contacts: contacts.length });
      await this.ringContacts(call, users.aorOf(call.to), contacts, this.opts.ringMode ?? 'ringback');
      return;
    }
    const rules = parseForwardRules(settings?.forwardRules ?? []);
    let route = this.routeOf(call.to, settings, rules);
    if (!route) {
      this.log.warn({ callId: call.id, number: call.to, route: settings?.route }, 'number has an unusable route');
      this.refuse(call, { status: 500, reason: 'Server Internal Error (Bad Route)' }, 'bad-route', 'failed');
      return;
    }
    // max_concurrent_calls: the number is busy beyond it (486, RFC 3261 §21.4.24) unless a busy rule forwards.
    const max = settings?.maxConcurrentCalls ?? null;
    const active = this.perNumber.get(call.to) ?? 0;
    if (max !== null && active >= max) {
      if (!rules.busy) {
        this.refuse(call, { status: 486 }, 'max-concurrent-calls', 'busy');
        return;
      }
      route = { kind: 'forward', target: rules.busy.target };
      call.note('forward', { reason: 'busy', target: rules.busy.target });
    } else {
      this.perNumber.set(call.to, active + 1);
      call.limitKey = call.to;
    }
    call.route = route;
    call.note('routed', { route: formatRoute(route) });
    const ringMode = settings?.ringMode ?? this.opts.ringMode ?? 'ringback';
    await this.dispatch(call, route, rules, ringMode);
  }

  private routeOf(number: string, settings: NumberRouting | undefined, rules: ForwardRules): RouteSpec | undefined {
    if (this.opts.testNumber !== undefined && number === this.opts.testNumber) return { kind: 'answer' };
    if (rules.always) return { kind: 'forward', target: rules.always.target };
    const text = settings?.route ?? this.opts.defaultRoute;
    if (text === 'forward') return undefined; // forward without an unconditional rule: nowhere to go
    return parseRoute(text);
  }

  private async dispatch(call: Call, route: RouteSpec, rules: ForwardRules, ringMode: RingMode): Promise<void> {
    switch (route.kind) {
      case 'reject':
        this.refuse(call, { status: 403, reason: 'Forbidden (Calls Not Accepted)' }, 'route-reject', 'failed', true);
        return;
      case 'forward':
        if (!(await this.prepareA(call))) return;
        await this.forward(call, route.target, rules, ringMode, 'primary');
        return;
      default: {
        const app = route.kind === 'answer' || route.kind === 'echo' ? undefined : this.apps.get(route.kind);
        if (route.kind !== 'answer' && route.kind !== 'echo' && !app) {
          this.refuse(call, { status: 480, reason: `Temporarily Unavailable (Route ${route.kind} Not Available)` }, 'route-unavailable', 'failed');
          return;
        }
        if (!(await this.prepareA(call))) return;
        const early = ringMode === 'early-media' && call.a.canEarlyMedia;
        call.a.ring(early);
        call.transition('ringing', { early_media: early });
        if (early) this.playRingback(call.a);
        if (app?.prepare) {
          const ok = await app.prepare({ callId: call.id, from: call.from, to: call.to, route, direction: call.direction }).catch(() => false);
          if (call.isEnded) return;
          if (!ok) {
            this.refuse(call, { status: 480, reason: 'Temporarily Unavailable' }, 'app-unavailable', 'failed');
            return;
          }
        }
        const delay = this.opts.answerDelayMs ?? 0;
        if (delay > 0 && (route.kind === 'answer' || route.kind === 'echo')) {
          await new Promise<void>((resolve) => this.clock.setTimeout(resolve, delay));
          if (call.isEnded) return;
        }
        this.answerA(call, {}, () => this.startApp(call, route, app));
      }
    }
  }

  /**
   * Answer the inbound A-leg. The call is answered (CDR answer time, `answered` webhook) when the 2xx leaves, which
   * waits for the PRACK of a reliable provisional (RFC 3262 §3); `then` runs at that moment. No PRACK: the leg ends
   * `prack-timeout` unanswered and the call fails.
   */
  private answerA(call: Call, data: Parameters<Call['transition']>[1], then?: () => void): void {
    call.a.once('answered', () => {
      if (call.isEnded) return;
      call.transition('answered', data);
      then?.();
    });
    call.a.answer();
  }

  /** Check the INVITE and open media; refuses the call (400/422/488/503...) when that fails. */
  private async prepareA(call: Call): Promise<boolean> {
    const refusal = await call.a.prepareInbound();
    if (call.isEnded) return false;
    if (refusal) {
      this.refuse(call, refusal, refusal.status === 503 ? 'media-unavailable' : 'media-negotiation', refusal.status === 487 ? 'canceled' : 'failed');
      return false;
    }
    return true;
  }

  /** Local ringback on the caller's early media until something else plays or the call is bridged. */
  private playRingback(leg: SipLeg): void {
    const media = leg.media;
    if (media && !media.isClosed) media.play(ringbackSequence(), { loop: true }).catch(() => undefined);
  }

  /** Refuse an unanswered inbound call with a final response and end it. */
  private refuse(call: Call, r: LegRefusal, cause: string, state: FinalCallState, rejected = false): void {
    if (call.isEnded) return;
    call.finish({ state: call.isAnswered ? 'completed' : state, cause, side: 'system', sipCode: r.status, rejected }, this.clock.wallNow());
    if (call.a.role === 'uas') call.a.reject(r.status, r.reason, r.headers);
    else call.a.hangup();
    this.cleanup(call);
  }

  // ==== forwarding ===============================================================================================

  /**
   * Call `target` as the B-leg and bridge it on answer. Early media from the target reaches the caller when the
   * caller's leg can take a 183 (RFC 3960); otherwise the caller hears ringback (local, or from its phone on 180).
   * Busy / no answer follow the number's rules once (from the primary destination only).
   */
  private async forward(call: Call, target: string, rules: ForwardRules, ringMode: RingMode, stage: 'primary' | 'busy' | 'no-answer'): Promise<void> {
    let dest: Destination;
    try {
      dest = this.destination(target);
    } catch (err) {
      this.log.warn({ callId: call.id, target, err }, 'forward target unusable');
      this.refuse(call, { status: 404, reason: 'Not Found (Bad Forward Target)' }, 'bad-forward-target', 'failed');
      return;
    }
    const timeoutS = stage === 'primary' && rules.noAnswer ? rules.noAnswer.timeoutS : this.opts.forwardTimeoutS ?? 60;
    const leg = await SipLeg.dial(
      this.opts.ua,
      {
        to: dest.uri,
        from: { uri: this.fromUri(call.from), displayName: call.fromDisplay },
        credentials: dest.credentials,
        timeoutMs: timeoutS * 1000,
        headers: [['Diversion', `<sip:${call.to}@${this.opts.mediaAddress}>;reason=${stage === 'primary' ? 'unconditional' : stage === 'busy' ? 'user-busy' : 'no-answer'}`]],
      },
      this.legOptions(),
    );
    if (call.isEnded) {
      if (leg instanceof SipLeg) leg.hangup();
      return;
    }
    if (!(leg instanceof SipLeg)) {
      this.refuse(call, leg, 'media-unavailable', 'failed');
      return;
    }
    call.b = leg;
    call.note('forward-dial', { target: formatUri(dest.uri), stage, b_leg: leg.callId });
    if (!call.isAnswered && call.state === 'initiated') {
      const early = ringMode === 'early-media' && call.a.canEarlyMedia;
      call.a.ring(early);
      call.transition('ringing', { early_media: early });
      if (early) this.playRingback(call.a);
    }
    let bridgedEarly = false;
    leg.on('progress', (status, earlyMedia) => {
      if (call.isEnded || call.b !== leg) return;
      // The target's own early media (announcements, its ringback) replaces ours when the caller can hear it.
      if (earlyMedia && call.a.canEarlyMedia && !bridgedEarly) {
        bridgedEarly = true;
        call.a.ring(true);
        this.bridge(call.a, leg);
      }
      call.note('b-progress', { status, early_media: earlyMedia });
    });
    leg.on('answered', () => {
      if (call.isEnded || call.b !== leg) {
        leg.hangup();
        return;
      }
      this.answerA(call, { b_leg: leg.callId });
      this.bridge(call.a, leg);
    });
    this.wireLeg(call, leg, 'b', (end) => {
      if (call.isEnded || call.b !== leg) return;
      if (call.isAnswered) {
        this.endCall(call, { state: 'completed', cause: 'normal-clearing', side: 'callee', sipCode: 200 });
        return;
      }
      const f = leg.failure;
      const status = f?.status ?? end.status ?? 480;
      const outcome = f?.outcome ?? 'failed';
      call.b = undefined;
      if (stage === 'primary' && outcome === 'busy' && rules.busy) {
        call.note('forward', { reason: 'busy', target: rules.busy.target, status });
        void this.forward(call, rules.busy.target, rules, ringMode, 'busy');
        return;
      }
      if (stage === 'primary' && outcome === 'no-answer' && rules.noAnswer) {
        call.note('forward', { reason: 'no-answer', target: rules.noAnswer.target, status });
        void this.forward(call, rules.noAnswer.target, rules, ringMode, 'no-answer');
        return;
      }
      // A B2BUA relays the callee's verdict; our own timeout is "no answer" (480), auth or routing trouble on the
      // outbound side is the gateway's (502/503), never the caller's fault.
      const relay = outcome === 'busy' ? 486 : outcome === 'no-answer' ? 480 : status === 401 || status === 407 ? 503 : status >= 400 && status < 700 ? status : 502;
      const state: FinalCallState = outcome === 'busy' ? 'busy' : outcome === 'no-answer' ? 'no-answer' : outcome === 'canceled' ? 'canceled' : 'failed';
      this.refuse(call, { status: relay }, `forward-${outcome}`, state);
    });
  }

  /**
   * A call to a registered user: ring every contact of its address of record at once (parallel forking, RFC 3261
   * §16.6), each INVITE sent where that contact registered from (RFC 3581: through the phone's NAT pinhole); the
   * first to answer is bridged to the caller, the others are CANCELed. When none answers the caller gets the best
   * of their final responses (RFC 3261 §16.7).
   */
  private async ringContacts(call: Call, aor: string, contacts: readonly LocalContact[], ringMode: RingMode): Promise<void> {
    if (!(await this.prepareA(call))) return;
    const timeoutMs = (this.opts.forwardTimeoutS ?? 60) * 1000;
    const dialed = await Promise.all(
      contacts.map((c) =>
        SipLeg.dial(
          this.opts.ua,
          { to: aor, requestUri: c.uri, target: c.target, from: { uri: this.fromUri(call.from), displayName: call.fromDisplay }, timeoutMs },
          this.legOptions(),
        ),
      ),
    );
    const legs = dialed.filter((l): l is SipLeg => l instanceof SipLeg);
    if (call.isEnded) {
      for (const leg of legs) leg.hangup();
      return;
    }
    if (legs.length === 0) {
      this.refuse(call, (dialed[0] as LegRefusal | undefined) ?? { status: 503 }, 'media-unavailable', 'failed');
      return;
    }
    const fork = new ContactFork(legs);
    call.once('ended', () => fork.cancel());
    call.note('user-dial', { aor, b_legs: legs.map((l) => l.callId) });
    if (call.state === 'initiated') {
      const early = ringMode === 'early-media' && call.a.canEarlyMedia;
      call.a.ring(early);
      call.transition('ringing', { early_media: early });
      if (early) this.playRingback(call.a);
    }
    let bridgedEarly = false;
    fork.on('progress', (leg, status, earlyMedia) => {
      if (call.isEnded) return;
      // A phone's own early media (RFC 3960) reaches the caller when it can take a 183: the first fork to send it.
      if (earlyMedia && call.a.canEarlyMedia && !bridgedEarly) {
        bridgedEarly = true;
        call.a.ring(true);
        this.bridge(call.a, leg);
      }
      call.note('b-progress', { status, early_media: earlyMedia, b_leg: leg.callId });
    });
    fork.once('answered', (leg) => {
      if (call.isEnded) {
        leg.hangup();
        return;
      }
      call.b = leg;
      this.answerA(call, { b_leg: leg.callId });
      this.bridge(call.a, leg);
      this.wireLeg(call, leg, 'b', () => {
        if (!call.isEnded && call.b === leg) this.endCall(call, { state: 'completed', cause: 'normal-clearing', side: 'callee', sipCode: 200 });
      });
    });
    fork.once('failed', (f) => {
      if (call.isEnded) return;
      const relay = f.outcome === 'busy' ? 486 : f.outcome === 'no-answer' ? 480 : f.status >= 400 && f.status < 700 ? f.status : 480;
      const state: FinalCallState = f.outcome === 'busy' ? 'busy' : f.outcome === 'no-answer' ? 'no-answer' : f.outcome === 'canceled' ? 'canceled' : 'failed';
      this.refuse(call, { status: relay }, `user-${f.outcome}`, state);
    });
  }

  /** Connect the audio of two legs (stops whatever was playing to them). */
  private bridge(a: SipLeg, b: SipLeg): void {
    const ma = a.media;
    const mb = b.media;
    if (!ma || !mb || ma.isClosed || mb.isClosed) return;
    ma.stop();
    mb.stop();
    ma.connect(mb);
  }

  // ==== outbound =================================================================================================

  async originate(req: OriginateRequest): Promise<ActiveCallInfo> {
    if (this.closing) throw new CallControlError('SHUTTING_DOWN', 'the server is shutting down');
    const route = parseRoute(req.route ?? 'answer');
    if (!route) throw new CallControlError('BAD_ROUTE', `unknown route "${String(req.route)}"`);
    if ((route.kind === 'ai' || route.kind === 'ivr' || route.kind === 'queue') && !this.apps.has(route.kind)) {
      throw new CallControlError('ROUTE_UNAVAILABLE', `route ${route.kind} is not available on this server`);
    }
    const timeoutS = req.timeoutS ?? 60;
    if (!Number.isFinite(timeoutS) || timeoutS < 1 || timeoutS > 600) throw new CallControlError('BAD_TARGET', 'timeoutS must be 1-600');
    const viaTrunks = this.trunkFailover(req.to, req.trunk);
    if (viaTrunks) return this.originateViaTrunks(req, route, viaTrunks.number, viaTrunks.failover, timeoutS);
    if (req.trunk !== undefined && req.trunk !== '' && req.trunk !== 'default') {
      throw new CallControlError('NO_TRUNK', `unknown trunk "${req.trunk}" (only the configured outbound trunk is available)`);
    }
    const dest = this.destination(req.to);
    const fromNumber = req.from.startsWith('sip:') || req.from.startsWith('sips:') ? numberOf(parseUri(req.from)) || req.from : req.from;
    const leg = await SipLeg.dial(
      this.opts.ua,
      {
        to: dest.uri,
        from: { uri: this.fromUri(req.from), displayName: req.fromDisplay },
        credentials: dest.credentials,
        timeoutMs: Math.round(timeoutS * 1000),
        headers: req.headers,
      },
      this.legOptions(),
    );
    if (!(leg instanceof SipLeg)) throw new CallControlError('CAPACITY', `cannot place the call: ${leg.status} ${leg.reason ?? ''}`.trim());
    const call = new Call({
      id: leg.callId,
      direction: 'outbound',
      from: fromNumber,
      to: numberOf(dest.uri) || req.to,
      fromDisplay: req.fromDisplay,
      startedAt: this.clock.wallNow(),
      route,
      a: leg,
      webhookUrl: req.webhookUrl,
      remoteAddress: formatUri(dest.uri),
    });
    this.register(call);
    this.followOutbound(call, leg, route);
    return this.info(call);
  }

  /**
   * The managed trunks' plan for a call to `to`: undefined when the static OUTBOUND_PROXY applies (a SIP URI, no
   * router, or no outbound trunk at all). Throws NO_TRUNK for an unknown `trunkRef` (id or name) and CAPACITY when
   * trunks exist but none can take the call now (down, at max channels, or none serves the number).
   */
  private trunkFailover(to: string, trunkRef: string | undefined): { number: string; failover: TrunkFailover } | undefined {
    const router = this.opts.router;
    if (!router || /^sips?:/i.test(to.trim())) return undefined;
    const ref = trunkRef !== undefined && trunkRef !== '' && trunkRef !== 'default' ? trunkRef : undefined;
    const trunks = router.list().filter((t) => t.enabled && t.supportsOutbound);
    if (ref === undefined && trunks.length === 0) return undefined;
    const number = dialledNumber(to);
    let routes: OutboundRoute[];
    if (ref !== undefined) {
      const trunk = trunks.find((t) => t.id === ref || t.name === ref);
      if (!trunk) throw new CallControlError('NO_TRUNK', `unknown or disabled trunk "${ref}"`);
      routes = router.chooseTrunks(number, { trunkId: trunk.id });
    } else {
      routes = router.chooseTrunks(number);
    }
    if (routes.length === 0) throw new CallControlError('CAPACITY', `no trunk can take a call to ${number} now (down, at max channels, or none serves the number)`);
    return { number, failover: new TrunkFailover(router, routes) };
  }

  /**
   * Originate through the managed trunks: the first trunk with a free channel gets the INVITE; on 408, 5xx or no
   * answer at all the next one is tried with the same Call-ID (one call, one CDR), until one answers, one gives a
   * final answer that does not fail over (486, 404...), or none is left.
   */
  private async originateViaTrunks(req: OriginateRequest, route: RouteSpec, number: string, failover: TrunkFailover, timeoutS: number): Promise<ActiveCallInfo> {
    const first = failover.take();
    if (!first) throw new CallControlError('CAPACITY', `every trunk for ${number} is at its channel limit`);
    const spec: TrunkCall = {
      failover,
      from: req.from,
      fromDisplay: req.fromDisplay,
      headers: req.headers,
      deadline: this.clock.now() + Math.round(timeoutS * 1000),
      route,
      written: 0,
    };
    const leg = await this.dialTrunk(first, spec, undefined);
    if (!(leg instanceof SipLeg)) {
      failover.failed('media-unavailable');
      failover.release();
      throw new CallControlError('CAPACITY', `cannot place the call: ${leg.status} ${leg.reason ?? ''}`.trim());
    }
    const fromNumber = /^sips?:/i.test(req.from) ? numberOf(parseUri(req.from)) || req.from : req.from;
    const call = new Call({
      id: leg.callId,
      direction: 'outbound',
      from: fromNumber,
      to: number,
      fromDisplay: req.fromDisplay,
      startedAt: this.clock.wallNow(),
      route,
      a: leg,
      webhookUrl: req.webhookUrl,
      trunkId: first.trunk.id,
      metadata: { trunks_tried: [] },
      remoteAddress: first.requestUri,
    });
    this.trunkCalls.set(call.id, spec);
    this.register(call);
    this.followTrunkLeg(call, leg, first, spec);
    return this.info(call);
  }

  /** One attempt through a trunk: its Request-URI, proxy, credentials and our From in its domain. */
  private dialTrunk(route: OutboundRoute, spec: TrunkCall, callId: string | undefined): Promise<SipLeg | LegRefusal> {
    const user = spec.from.replace(/[^0-9A-Za-z+*#._-]/g, '');
    // The caller's own identity when it has one; the trunk's configured caller ID otherwise.
    const fromUri = /^sips?:/i.test(spec.from) ? spec.from : `sip:${user !== '' && user !== 'anonymous' ? user : route.callerId ?? 'anonymous'}@${route.fromDomain}`;
    return SipLeg.dial(
      this.opts.ua,
      {
        to: route.requestUri,
        requestUri: route.requestUri,
        target: route.target,
        from: { uri: fromUri, displayName: spec.fromDisplay },
        credentials: route.credentials,
        timeoutMs: Math.max(1000, spec.deadline - this.clock.now()),
        headers: spec.headers,
        callId,
      },
      this.legOptions(),
    );
  }

  private followTrunkLeg(call: Call, leg: SipLeg, route: OutboundRoute, spec: TrunkCall): void {
    call.note('trunk-attempt', { trunk_id: route.trunk.id, trunk: route.trunk.name, request_uri: route.requestUri, attempt: spec.failover.tried.length + 1 });
    this.followOutbound(call, leg, spec.route);
    leg.once('answered', () => {
      if (call.a !== leg) return;
      spec.failover.answered();
      this.writeTrunks(call, spec);
    });
  }

  /**
   * The A-leg of a trunk call ended unanswered: when the result fails over (408, 5xx, no answer) and a trunk is
   * left, place the next attempt and return true; the call goes on with the new A-leg.
   */
  private failOver(call: Call, end: LegEnd): boolean {
    const spec = this.trunkCalls.get(call.id);
    if (!spec || call.isAnswered || call.isEnded) return false;
    const f = call.a.failure;
    // Our CANCEL (hang-up, ring timeout) ends the search: it says nothing about the trunk.
    const canceled = f ? f.status === 487 || (f.response === undefined && (f.outcome === 'canceled' || f.outcome === 'no-answer')) : end.cause === 'canceled';
    // RFC 3261 §8.1.3.1: no response at all (Timer B) is a 408 we made up: the trunk did not answer.
    const result: TrunkTryResult = f ? (f.response === undefined && f.status === 408 ? 'timeout' : f.status) : end.status ?? 'timeout';
    const next = spec.failover.failed(result, canceled || this.closing) && spec.failover.remaining > 0;
    const route = next ? spec.failover.take() : undefined;
    this.writeTrunks(call, spec);
    if (!route) return false;
    call.note('trunk-failover', { status: typeof result === 'number' ? result : null, result: String(result), next: route.trunk.name });
    void this.dialTrunk(route, spec, call.id).then((leg) => {
      if (!(leg instanceof SipLeg)) {
        spec.failover.failed('media-unavailable');
        this.writeTrunks(call, spec);
        this.trunkCalls.delete(call.id);
        spec.failover.release();
        this.aLegEnded(call, end);
        return;
      }
      if (call.isEnded) {
        leg.hangup();
        return;
      }
      call.a = leg;
      this.wireLeg(call, leg, 'a', (e) => this.aLegEnded(call, e));
      this.followTrunkLeg(call, leg, route, spec);
    });
    return true;
  }

  /** CDR: every trunk tried so far (metadata.trunks_tried) and the trunk of the current attempt (trunk_id). */
  private writeTrunks(call: Call, spec: TrunkCall): void {
    const tried = spec.failover.tried.length;
    if (tried === spec.written) return;
    spec.written = tried;
    const patch = { trunkId: spec.failover.current?.trunk.id, metadata: { trunks_tried: spec.failover.toJson() } };
    this.writer.submit(this.opts.store, call.id, { kind: 'update', patch });
  }

  /** Progress, answer and failure of an outbound A-leg. */
  private followOutbound(call: Call, leg: SipLeg, route: RouteSpec): void {
    leg.on('progress', (status, earlyMedia) => {
      if (call.isEnded) return;
      if (status === 180 || status === 183 || earlyMedia) call.transition('ringing', { sip_code: status, early_media: earlyMedia });
    });
    leg.on('answered', () => {
      if (call.isEnded) return;
      call.transition('answered');
      if (route.kind === 'forward') {
        void this.connectOutboundForward(call, route.target);
        return;
      }
      this.startApp(call, route, route.kind === 'answer' || route.kind === 'echo' ? undefined : this.apps.get(route.kind));
    });
  }

  /** Click-to-call: once the first party answered, call the second and bridge them. */
  private async connectOutboundForward(call: Call, target: string): Promise<void> {
    const ok = await this.bridgeNewLeg(call, target);
    if (!ok && !call.isEnded) this.endCall(call, { state: 'completed', cause: 'forward-failed', side: 'system', sipCode: 200 });
  }

  // ==== applications =============================================================================================

  private startApp(call: Call, route: RouteSpec, app: CallApp | undefined): void {
    const media = call.a.media;
    if (!media || media.isClosed) return;
    media.stop();
    call.app = formatRoute(route);
    if (route.kind === 'echo') {
      // A bridge of the leg with itself: each received 20 ms frame goes back out on the next tick.
      media.connect(media);
      return;
    }
    if (route.kind === 'answer' || !app) return;
    const ctx = this.appContext(call, route, media, app);
    Promise.resolve()
      .then(() => app.start(ctx))
      .catch((err: unknown) => {
        this.log.warn({ err, callId: call.id, route: call.app }, 'call application failed');
        this.endCall(call, { state: 'completed', cause: 'app-error', side: 'system', sipCode: undefined });
      });
  }

  private appContext(call: Call, route: RouteSpec, media: MediaSession, app: CallApp): CallAppContext {
    const id = call.id;
    const side: HangupSide = app.side ?? 'system';
    const enders = this.appEnders.get(id) ?? new Set();
    this.appEnders.set(id, enders);
    const dtmf = this.appDtmf.get(id) ?? new Set();
    this.appDtmf.set(id, dtmf);
    return {
      callId: id,
      direction: call.direction,
      from: call.from,
      to: call.to,
      codec: call.a.codec ?? 'PCMU',
      route,
      media,
      onDtmf: (cb) => {
        dtmf.add(cb);
        return () => dtmf.delete(cb);
      },
      onEnd: (cb) => {
        enders.add(cb);
        return () => enders.delete(cb);
      },
      hangup: (cause) => {
        const c = this.calls.get(id);
        if (c) this.endCall(c, { state: 'completed', cause: cause ?? `${side}-hangup`, side, sipCode: undefined });
      },
      transfer: async (target, mode) => (await this.transfer(id, { target, mode })).ok,
      hold: () => this.hold(id),
      resume: () => this.resume(id),
      sendDtmf: (digits) => call.a.sendDtmf(digits),
      note: (type, data) => call.note(type, { ...(data ?? {}) }),
    };
  }

  // ==== call registry and leg wiring ============================================================================

  private legOptions(): SipLegOptions {
    const st = this.opts.sessionTimer;
    return {
      media: this.opts.media,
      mediaAddress: this.opts.mediaAddress,
      mediaTimeoutMs: this.opts.mediaTimeoutMs,
      clock: this.clock,
      sessionTimer: st === false ? undefined : st ?? { interval: 1800, minSE: 90, preferredRefresher: 'uac' },
      onMediaSession: this.opts.onMediaSession,
    };
  }

  private register(call: Call): void {
    this.calls.set(call.id, call);
    this.tracker.track(call);
    this.wireLeg(call, call.a, 'a', (end) => this.aLegEnded(call, end));
  }

  /** Subscribe the call to a leg's events; `onEnd` decides what the leg's end means for the call. */
  private wireLeg(call: Call, leg: SipLeg, which: 'a' | 'b', onEnd: (end: LegEnd) => void): void {
    this.legWiring.get(leg)?.();
    const onDtmf = (digit: string, source: 'rfc4733' | 'inband' | 'info', durationMs: number | undefined): void => {
      call.dtmf(digit, source, which);
      if (which === 'a') for (const cb of this.appDtmf.get(call.id) ?? []) safely(() => cb(digit, source, durationMs));
    };
    const onMediaTimeout = (): void => this.endCall(call, { state: 'completed', cause: 'media-timeout', side: 'system', sipCode: undefined });
    const onSessionTimeout = (): void => this.endCall(call, { state: 'completed', cause: 'session-timeout', side: 'system', sipCode: undefined });
    const onRemoteHold = (held: boolean): void => this.remoteHold(call, leg, which, held);
    const onRefer = (r: InDialogRequest): void => this.referReceived(call, leg, r);
    const onEnded = (end: LegEnd): void => {
      this.legWiring.get(leg)?.();
      this.reportRtp(leg);
      // A BYE we did not ask for (ACK timeout) is known to the session just after the event: read it then.
      queueMicrotask(() => onEnd(end.cause === 'local-bye' ? { ...end, cause: leg.session.endCause ?? end.cause } : end));
    };
    leg.on('dtmf', onDtmf);
    leg.on('mediatimeout', onMediaTimeout);
    leg.on('sessiontimeout', onSessionTimeout);
    leg.on('remotehold', onRemoteHold);
    leg.on('refer', onRefer);
    leg.once('ended', onEnded);
    this.legWiring.set(leg, () => {
      leg.off('dtmf', onDtmf);
      leg.off('mediatimeout', onMediaTimeout);
      leg.off('sessiontimeout', onSessionTimeout);
      leg.off('remotehold', onRemoteHold);
      leg.off('refer', onRefer);
      leg.off('ended', onEnded);
      this.legWiring.delete(leg);
    });
  }

  private reportRtp(leg: SipLeg): void {
    const m = this.opts.rtpMetrics;
    const rtp = m ? leg.mediaStats()?.rtp : undefined;
    if (!m || !rtp) return;
    if (rtp.packetsReceived > 0) m.packetsIn(rtp.packetsReceived);
    if (rtp.packetsSent > 0) m.packetsOut(rtp.packetsSent);
    if (rtp.packetsLost > 0) m.packetsLost(rtp.packetsLost);
    if (rtp.packetsReceived > 0) m.jitter(rtp.jitterMs / 1000);
  }

  /** What the end of the A-leg means for the call, when the call did not end for another reason first. */
  private aLegEnded(call: Call, end: LegEnd): void {
    if (call.isEnded) {
      this.cleanup(call);
      return;
    }
    if (this.failOver(call, end)) return;
    const party: HangupSide = call.direction === 'inbound' ? 'caller' : 'callee';
    let ending: CallEnding;
    switch (end.cause) {
      case 'remote-bye':
        ending = { state: 'completed', cause: 'normal-clearing', side: party, sipCode: call.isAnswered ? 200 : undefined };
        break;
      case 'canceled':
        if (call.direction === 'inbound') ending = { state: 'canceled', cause: 'caller-cancel', side: 'caller', sipCode: 487 };
        else {
          const f = call.a.failure;
          const noAnswer = f?.outcome === 'no-answer';
          ending = { state: noAnswer ? 'no-answer' : 'canceled', cause: noAnswer ? 'no-answer' : 'canceled', side: noAnswer ? 'system' : 'api', sipCode: f?.status ?? 487 };
        }
        break;
      case 'failed': {
        const status = call.a.failure?.status ?? end.status ?? 500;
        const state = finalStateOfStatus(status);
        ending = { state: state === 'completed' ? 'failed' : state, cause: causeOfStatus(status), side: 'callee', sipCode: status };
        break;
      }
      case 'ack-timeout':
        ending = { state: 'completed', cause: 'ack-timeout', side: 'system', sipCode: 408 };
        break;
      case 'prack-timeout':
        // RFC 3262 §3: the caller never PRACKed our reliable provisional; the INVITE got 500 and no 2xx ever left.
        ending = { state: 'failed', cause: 'prack-timeout', side: 'system', sipCode: end.status ?? 500 };
        break;
      case 'session-expired':
        ending = { state: 'completed', cause: 'session-timeout', side: 'system', sipCode: undefined };
        break;
      case 'request-timeout':
      case 'transport-error':
        ending = { state: 'completed', cause: end.cause, side: 'system', sipCode: undefined };
        break;
      case 'shutdown':
        ending = { state: 'completed', cause: 'server-shutdown', side: 'system', sipCode: 503 };
        break;
      default:
        ending = { state: 'completed', cause: end.cause, side: 'system', sipCode: end.status };
    }
    this.endCall(call, ending);
  }

  /**
   * End the call (once) with `ending`, then hang up every leg still up: BYE once confirmed, CANCEL or a final
   * response before that (`status` for an unanswered inbound leg, default 480), with a Reason header (RFC 3326).
   */
  private endCall(call: Call, ending: CallEnding, status?: number): void {
    this.settleTrunks(call);
    if (!call.isEnded) call.finish(ending, this.clock.wallNow());
    const reason = REASONS[ending.cause];
    const headers: [string, string][] = reason ? [['Reason', reason]] : [];
    for (const leg of [call.a, call.b]) if (leg && !leg.isEnded) leg.hangup(headers, status ?? 480);
    this.cleanup(call);
  }

  /** A trunk call ends: an attempt still ringing is recorded as canceled and every trunk channel is given back. */
  private settleTrunks(call: Call): void {
    const spec = this.trunkCalls.get(call.id);
    if (!spec) return;
    this.trunkCalls.delete(call.id);
    spec.failover.release();
    this.writeTrunks(call, spec);
  }

  private cleanup(call: Call): void {
    this.settleTrunks(call);
    if (this.calls.get(call.id) === call) this.calls.delete(call.id);
    if (call.limitKey !== undefined) {
      const n = (this.perNumber.get(call.limitKey) ?? 1) - 1;
      if (n <= 0) this.perNumber.delete(call.limitKey);
      else this.perNumber.set(call.limitKey, n);
      call.limitKey = undefined;
    }
    const enders = this.appEnders.get(call.id);
    this.appEnders.delete(call.id);
    this.appDtmf.delete(call.id);
    const cause = call.ending?.cause ?? 'ended';
    for (const cb of enders ?? []) safely(() => cb(cause));
  }

  // ==== hold =====================================================================================================

  async hold(callId: string): Promise<boolean> {
    const call = this.requireCall(callId);
    if (!call.isAnswered) throw new CallControlError('CALL_STATE', `call ${callId} is ${call.state}: only answered calls can be held`);
    if (call.state === 'held' && call.a.heldByLocal) return true;
    const results = await Promise.all([call.a.hold(), call.b ? call.b.hold() : Promise.resolve(true)]);
    for (const leg of [call.a, call.b]) if (leg?.heldByLocal && leg.media) this.playHoldMusic(call, leg.media, () => leg.heldByLocal);
    const ok = results[0];
    if (ok && !call.isEnded) call.transition('held', { by: 'api' });
    call.note('hold', { ok });
    return ok;
  }

  async resume(callId: string): Promise<boolean> {
    const call = this.requireCall(callId);
    if (!call.isAnswered) throw new CallControlError('CALL_STATE', `call ${callId} is ${call.state}: nothing to resume`);
    const results = await Promise.all([call.a.resume(), call.b ? call.b.resume() : Promise.resolve(true)]);
    const ok = results[0];
    if (ok && !call.isEnded && !call.a.remoteHeld) call.transition('answered', { by: 'api' });
    call.note('resume', { ok });
    return ok;
  }

  /** The party put us on hold (or resumed): the call is held, and a bridged party hears music meanwhile. */
  private remoteHold(call: Call, leg: SipLeg, which: 'a' | 'b', held: boolean): void {
    if (call.isEnded) return;
    const by = which === 'a' ? (call.direction === 'inbound' ? 'caller' : 'callee') : 'b-leg';
    if (held) call.transition('held', { by });
    else if (!call.a.heldByLocal) call.transition('answered', { by });
    const other = which === 'a' ? call.b : call.a;
    if (other && call.b) {
      const media = other.media;
      if (media && !media.isClosed) {
        if (held) this.playHoldMusic(call, media, () => leg.remoteHeld);
        else media.stop();
      }
    }
  }

  /** Loop music to a held party's media: the provider's source, else the MOH file, else the soft tone. */
  private playHoldMusic(call: Call, media: MediaSession, stillHeld: () => boolean): void {
    const fallback = this.opts.musicOnHold ?? HOLD_TONE;
    const provider = this.holdMusic;
    if (!provider) {
      if (!media.isClosed) media.play(fallback, { loop: true }).catch(() => undefined);
      return;
    }
    const number = call.direction === 'inbound' ? call.to : call.from;
    provider({ callId: call.id, number }).then(
      (source) => {
        // Resumed (or ended) while the music was being looked up: stay quiet.
        if (media.isClosed || call.isEnded || !stillHeld()) return;
        media.play(source ?? fallback, { loop: true }).catch(() => undefined);
      },
      () => {
        if (!media.isClosed && !call.isEnded && stillHeld()) media.play(fallback, { loop: true }).catch(() => undefined);
      },
    );
  }

  // ==== transfer =================================================================================================

  async transfer(callId: string, req: TransferRequest): Promise<TransferResult> {
    const call = this.requireCall(callId);
    if (!call.isAnswered || call.isEnded) throw new CallControlError('CALL_STATE', `call ${callId} is ${call.state}: only answered calls can be transferred`);
    if (call.state === 'transferring') throw new CallControlError('CALL_STATE', `call ${callId} is already being transferred`);
    const mode: TransferMode = req.mode ?? 'blind';
    if (mode === 'attended') return this.attendedTransfer(call, req.target);
    // Validate the target before touching the call.
    const dest = this.destination(req.target);
    call.transition('transferring', { target: formatUri(dest.uri), mode });
    if (peerAllows(call.a, 'REFER')) {
      const res = await this.referAndWait(call, call.a, formatUri(dest.uri));
      if (res.ok || res.status === undefined || (res.status >= 200 && res.status < 300)) return res;
      // The party refused the REFER itself (405/501/403...): we do the transfer as a B2BUA instead.
      call.note('transfer-refer-refused', { status: res.status });
    }
    const ok = await this.bridgeNewLeg(call, req.target);
    if (!call.isEnded && (call.state as CallState) === 'transferring') call.transition('answered', { transfer: ok ? 'bridged' : 'failed' });
    return { ok, method: 'bridge', status: ok ? 200 : undefined };
  }

  /**
   * Blind transfer by REFER (RFC 3515, RFC 5589 §6): ask `leg`'s party to call `target`, follow the NOTIFY sipfrag
   * progress, and end our call once the target answered (we send BYE, as the transferor does). Resolves with the
   * REFER's refusal status when the party declined to try.
   */
  private referAndWait(call: Call, leg: SipLeg, target: string, replaces?: { callId: string; toTag: string; fromTag: string }): Promise<TransferResult> {
    return new Promise<TransferResult>((resolve) => {
      let done = false;
      const finish = (r: TransferResult): void => {
        if (done) return;
        done = true;
        leg.off('referprogress', onProgress);
        leg.off('ended', onEnded);
        resolve(r);
      };
      const onProgress = (p: { status: number; final: boolean }): void => {
        call.note('transfer-progress', { status: p.status, final: p.final });
        if (p.status >= 200 && p.status < 300) {
          finish({ ok: true, method: 'refer', status: p.status });
          this.endCall(call, { state: 'completed', cause: 'transferred', side: 'system', sipCode: 200 });
        } else if (p.status >= 300 || (p.final && p.status < 200)) {
          if (!call.isEnded && call.state === 'transferring') call.transition('answered', { transfer: 'failed', status: p.status });
          finish({ ok: false, method: 'refer', status: p.status || undefined });
        }
      };
      const onEnded = (): void => finish({ ok: call.ending?.cause === 'transferred', method: 'refer', status: undefined });
      leg.on('referprogress', onProgress);
      leg.once('ended', onEnded);
      const referredBy = `<sip:${call.direction === 'inbound' ? call.to : call.from}@${this.opts.mediaAddress}>`;
      leg.session.refer(target, replaces ? { replaces, referredBy } : { referredBy }).then(
        (res) => {
          if (res.status >= 300) {
            if (!call.isEnded && call.state === 'transferring' && !peerAllowsFallback(res.status)) call.transition('answered', { transfer: 'refused', status: res.status });
            finish({ ok: false, method: 'refer', status: res.status });
          } else call.note('transfer-accepted', { status: res.status });
        },
        (err: unknown) => {
          call.note('transfer-error', { error: err instanceof Error ? err.message : String(err) });
          finish({ ok: false, method: 'refer', status: 408 });
        },
      );
    });
  }

  /**
   * Transfer as a B2BUA: call `target` and, once it answers, connect it to the A-leg in place of what was there
   * (the app or the old B-leg, which is hung up); the A-leg is re-INVITEd (sendrecv) so a held party is back in the
   * conversation. Resolves false when the target did not answer (the call continues as before).
   */
  private async bridgeNewLeg(call: Call, target: string): Promise<boolean> {
    let dest: Destination;
    try {
      dest = this.destination(target);
    } catch {
      return false;
    }
    const callerId = call.direction === 'inbound' ? call.from : call.to;
    const leg = await SipLeg.dial(
      this.opts.ua,
      { to: dest.uri, from: { uri: this.fromUri(callerId) }, credentials: dest.credentials, timeoutMs: (this.opts.forwardTimeoutS ?? 60) * 1000 },
      this.legOptions(),
    );
    if (!(leg instanceof SipLeg)) return false;
    call.note('transfer-dial', { target: formatUri(dest.uri), b_leg: leg.callId });
    return new Promise<boolean>((resolve) => {
      leg.once('answered', () => {
        if (call.isEnded) {
          leg.hangup();
          resolve(false);
          return;
        }
        const old = call.b;
        call.b = leg;
        if (old && !old.isEnded) {
          this.legWiring.get(old)?.();
          old.hangup([['Reason', REASONS['transferred'] as string]]);
        }
        call.app = undefined;
        this.bridge(call.a, leg);
        this.wireLeg(call, leg, 'b', () => {
          if (!call.isEnded && call.b === leg) this.endCall(call, { state: 'completed', cause: 'normal-clearing', side: 'callee', sipCode: 200 });
        });
        if (call.a.heldByLocal) void call.a.resume();
        else void call.a.hold(undefined).then(() => call.a.resume());
        resolve(true);
      });
      leg.once('ended', () => {
        if (!call.b || call.b !== leg) resolve(false);
      });
    });
  }

  /**
   * Attended transfer (RFC 5589 §7): join this call's party with the party of `otherCallId`. With REFER support the
   * party is asked to INVITE the other party with Replaces (RFC 3891) naming the other dialog; otherwise we bridge
   * the two parties ourselves and both calls end as `transferred`.
   */
  private async attendedTransfer(call: Call, otherCallId: string): Promise<TransferResult> {
    const other = this.calls.get(otherCallId);
    if (!other || other === call) throw new CallControlError('CALL_NOT_FOUND', `no active call ${otherCallId} to transfer to`);
    if (!other.isAnswered || other.isEnded) throw new CallControlError('CALL_STATE', `call ${otherCallId} is ${other.state}`);
    const dialog = other.a.session.dialog;
    call.transition('transferring', { mode: 'attended', with: other.id });
    if (dialog && peerAllows(call.a, 'REFER')) {
      // RFC 3891 §3: the Replaces names the dialog as the party receiving the INVITE sees it: to-tag is its local tag.
      const replaces = { callId: dialog.id.callId, toTag: dialog.id.remoteTag, fromTag: dialog.id.localTag };
      const res = await this.referAndWait(call, call.a, formatUri(dialog.remoteTarget), replaces);
      if (res.ok) {
        // The other party's dialog with us is replaced; it sends BYE, and that call ends as transferred.
        other.note('replaced-by-transfer', { from: call.id });
        return res;
      }
      if (res.status !== undefined && (res.status < 400 || !peerAllowsFallback(res.status))) return res;
    }
    // Local bridge: the other call's party becomes this call's B-leg.
    const leg = other.a;
    this.legWiring.get(leg)?.();
    other.a = leg; // unchanged; its call ends without hanging the leg up
    const old = call.b;
    call.b = leg;
    if (old && !old.isEnded) {
      this.legWiring.get(old)?.();
      old.hangup([['Reason', REASONS['transferred'] as string]]);
    }
    other.finish({ state: 'completed', cause: 'transferred', side: 'system', sipCode: 200 }, this.clock.wallNow());
    this.cleanup(other);
    this.bridge(call.a, leg);
    if (leg.heldByLocal) void leg.resume();
    if (call.a.heldByLocal) void call.a.resume();
    this.wireLeg(call, leg, 'b', () => {
      if (!call.isEnded && call.b === leg) this.endCall(call, { state: 'completed', cause: 'normal-clearing', side: 'callee', sipCode: 200 });
    });
    if (!call.isEnded) call.transition('answered', { transfer: 'bridged', with: other.id });
    return { ok: true, method: 'bridge', status: 200 };
  }

  /**
   * A party sent REFER (RFC 3515): accept it (202 and NOTIFY 100), call the Refer-To target as a new call (its CDR
   * names this call as parent), report the target's progress in NOTIFYs, and on answer connect the target to what
   * the referring party was connected to (the app, or the other SIP party); the referrer then hangs up (RFC 5589).
   */
  private referReceived(call: Call, leg: SipLeg, r: InDialogRequest): void {
    if (call.isEnded || !call.isAnswered) {
      r.respond(603, { reason: 'Decline (Call Not Answered)' });
      return;
    }
    const sub = leg.session.acceptRefer(r);
    if (!sub || !sub.referTo) return;
    const targetUri = { ...sub.referTo.uri, headers: new Map<string, string>() };
    const replaces = sub.replaces;
    call.note('refer-received', { target: formatUri(targetUri), from_leg: leg === call.a ? 'a' : 'b', attended: replaces !== undefined });
    const headers: [string, string][] = [];
    if (replaces) headers.push(['Replaces', `${replaces.callId};to-tag=${replaces.toTag};from-tag=${replaces.fromTag}`]);
    if (sub.referredBy) headers.push(['Referred-By', sub.referredBy]);
    const keep = leg === call.a ? call.b : call.a;
    const identity = call.direction === 'inbound' ? call.to : call.from;
    void (async () => {
      const newLeg = await SipLeg.dial(
        this.opts.ua,
        { to: targetUri, from: { uri: this.fromUri(identity) }, credentials: this.credentialsFor(targetUri), timeoutMs: (this.opts.forwardTimeoutS ?? 60) * 1000, headers },
        this.legOptions(),
      );
      if (!(newLeg instanceof SipLeg)) {
        sub.notify(newLeg.status, newLeg.reason);
        return;
      }
      const child = new Call({
        id: newLeg.callId,
        direction: 'outbound',
        from: identity,
        to: numberOf(targetUri) || formatUri(targetUri),
        startedAt: this.clock.wallNow(),
        route: call.route,
        a: newLeg,
        parentCallId: call.id,
        webhookUrl: call.webhookUrl,
        remoteAddress: formatUri(targetUri),
      });
      this.register(child);
      newLeg.on('progress', (status) => {
        if (status > 100) sub.notify(status);
        if (!child.isEnded && (status === 180 || status === 183)) child.transition('ringing', { sip_code: status });
      });
      newLeg.once('answered', () => {
        sub.notify(200);
        if (child.isEnded) return;
        child.transition('answered', { referred_by: call.id });
        if (call.isEnded) {
          // The referrer hung up before the target answered: the target still gets the app.
          this.startApp(child, child.route, this.appFor(child.route));
          return;
        }
        call.note('transferred', { to: child.id });
        if (keep && keep !== leg && !keep.isEnded) {
          // The other SIP party moves to the new call.
          this.legWiring.get(keep)?.();
          if (call.b === keep) call.b = undefined;
          child.b = keep;
          this.bridge(newLeg, keep);
          this.wireLeg(child, keep, 'b', () => {
            if (!child.isEnded && child.b === keep) this.endCall(child, { state: 'completed', cause: 'normal-clearing', side: 'caller', sipCode: 200 });
          });
        } else {
          this.startApp(child, child.route, this.appFor(child.route));
        }
        // The referrer's job is done; if it does not hang up itself, we do (RFC 5589 §6 leaves BYE to the transferor).
        this.clock.setTimeout(() => {
          if (!call.isEnded) this.endCall(call, { state: 'completed', cause: 'transferred', side: 'system', sipCode: 200 });
        }, 2000);
      });
      newLeg.once('ended', () => {
        if (!child.isAnswered) sub.notify(newLeg.failure?.status ?? 503, newLeg.failure?.reason);
      });
    })().catch((err: unknown) => {
      this.log.warn({ err, callId: call.id }, 'referred call failed');
      sub.notify(500);
    });
  }

  private appFor(route: RouteSpec): CallApp | undefined {
    return route.kind === 'ai' || route.kind === 'ivr' || route.kind === 'queue' ? this.apps.get(route.kind) : undefined;
  }

  /**
   * An INVITE with Replaces (RFC 3891 §3): the new session takes the place of one of our legs (an attended transfer
   * completed by the other side). 481 when no such dialog, 486 if it is early and early-only is not allowed.
   */
  private async handleReplaces(session: ServerInviteSession, value: string): Promise<void> {
    const target = parseReplacesHeader(value);
    if (!target) {
      session.reject(400, { reason: 'Bad Request (Malformed Replaces)' });
      return;
    }
    let found: { call: Call; which: 'a' | 'b' } | undefined;
    for (const call of this.calls.values()) {
      for (const which of ['a', 'b'] as const) {
        const d = (which === 'a' ? call.a : call.b)?.session.dialog;
        if (d && d.id.callId === target.callId && d.id.localTag === target.toTag && d.id.remoteTag === target.fromTag) found = { call, which };
      }
    }
    if (!found || found.call.isEnded) {
      session.reject(481, { reason: 'Call/Transaction Does Not Exist (Replaces)' });
      return;
    }
    const { call, which } = found;
    const old = which === 'a' ? call.a : (call.b as SipLeg);
    if (!call.isAnswered && target.earlyOnly === false && old.role === 'uas') {
      // RFC 3891 §3: replacing an early dialog we received is refused unless it is ours to answer.
      session.reject(481);
      return;
    }
    const leg = new SipLeg(session, 'uas', this.legOptions());
    const refusal = await leg.prepareInbound();
    if (refusal) {
      leg.reject(refusal.status, refusal.reason, refusal.headers);
      return;
    }
    if (call.isEnded) {
      leg.reject(481);
      return;
    }
    // RFC 3891 §3: answer without ringing; the replaced dialog is ended with BYE.
    leg.answer();
    const peer = old.media?.connectedTo ?? undefined;
    this.legWiring.get(old)?.();
    if (which === 'a') call.a = leg;
    else call.b = leg;
    old.hangup([['Reason', 'SIP;cause=200;text="Call replaced"']]);
    const media = leg.media;
    if (media && peer && !peer.isClosed) {
      if (peer === old.media) media.connect(media);
      else media.connect(peer);
    }
    call.note('replaced', { leg: which, by: session.callId });
    this.wireLeg(call, leg, which, which === 'a' ? (end) => this.aLegEnded(call, end) : () => {
      if (!call.isEnded && call.b === leg) this.endCall(call, { state: 'completed', cause: 'normal-clearing', side: 'callee', sipCode: 200 });
    });
  }

  // ==== CallControl ==============================================================================================

  list(): ActiveCallInfo[] {
    return [...this.calls.values()].filter((c) => !c.isEnded).map((c) => this.info(c));
  }

  get(callId: string): ActiveCallInfo | undefined {
    const c = this.calls.get(callId);
    return c && !c.isEnded ? this.info(c) : undefined;
  }

  hangup(callId: string, cause = 'api-hangup'): boolean {
    const call = this.calls.get(callId);
    if (!call || call.isEnded) return false;
    const state: FinalCallState = call.isAnswered ? 'completed' : 'canceled';
    this.endCall(call, { state, cause, side: 'api', sipCode: call.isAnswered ? 200 : 487 }, 480);
    return true;
  }

  private requireCall(callId: string): Call {
    const call = this.calls.get(callId);
    if (!call || call.isEnded) throw new CallControlError('CALL_NOT_FOUND', `no active call ${callId}`);
    return call;
  }

  private info(c: Call): ActiveCallInfo {
    const now = this.clock.wallNow();
    return {
      callId: c.id,
      direction: c.direction,
      from: c.from,
      to: c.to,
      state: c.state,
      route: formatRoute(c.route),
      startedAt: new Date(c.startedAt).toISOString(),
      answeredAt: c.answeredAt === undefined ? null : new Date(c.answeredAt).toISOString(),
      durationS: Math.round(c.talkSeconds(now) * 10) / 10,
      codec: c.a.codec ?? null,
      onHold: c.state === 'held' || c.a.heldByLocal || c.a.remoteHeld,
      bLeg: c.b ? { callId: c.b.callId, codec: c.b.codec ?? null } : null,
      parentCallId: c.parentCallId ?? null,
      dtmfDigits: c.dtmfDigits,
    };
  }

  // ==== addressing ===============================================================================================

  /** Our From URI for a number or URI. */
  private fromUri(from: string): string {
    if (/^sips?:/i.test(from)) return from;
    const user = from.replace(/[^0-9A-Za-z+*#._-]/g, '') || 'anonymous';
    return `sip:${user}@${this.opts.mediaAddress}`;
  }

  /**
   * Where a call to `to` goes: a SIP URI is dialled as is (credentials when it is the trunk's host); a number (or
   * tel: URI) goes to the outbound trunk with its credentials. Throws CallControlError BAD_TARGET / NO_TRUNK.
   */
  private destination(to: string): Destination {
    const text = to.trim();
    if (/^sips?:/i.test(text)) {
      const uri = parseUri(text);
      if (!uri || uri.host === '') throw new CallControlError('BAD_TARGET', `not a usable SIP URI: ${to}`);
      return { uri, credentials: this.credentialsFor(uri) };
    }
    const number = dialledNumber(text);
    const trunk = this.opts.outbound;
    if (!trunk?.proxy) throw new CallControlError('NO_TRUNK', 'no outbound trunk configured (OUTBOUND_PROXY)');
    const hostPart = trunk.proxy.replace(/^sips?:/i, '').replace(/^[^@]*@/, '');
    const uri = parseUri(`sip:${number}@${hostPart}`);
    if (!uri) throw new CallControlError('NO_TRUNK', `OUTBOUND_PROXY is not a usable host: ${trunk.proxy}`);
    return { uri, credentials: trunk.username ? { username: trunk.username, password: trunk.password ?? '' } : undefined };
  }

  /** Trunk credentials apply to requests to the trunk's host only (RFC 3261 §22.1: credentials belong to a realm). */
  private credentialsFor(uri: SipUri): DigestCredentials | undefined {
    const trunk = this.opts.outbound;
    if (!trunk?.proxy || !trunk.username) return undefined;
    const proxyUri = parseUri(/^sips?:/i.test(trunk.proxy) ? trunk.proxy : `sip:${trunk.proxy}`);
    if (!proxyUri || proxyUri.host !== uri.host) return undefined;
    return { username: trunk.username, password: trunk.password ?? '' };
  }
}

/** A dialled number (`+1 (555) 010-0000`, `tel:+15550100000`) in its plain form; throws BAD_TARGET otherwise. */
function dialledNumber(to: string): string {
  const number = to.trim().replace(/^tel:/i, '').replace(/[\s().-]/g, '');
  if (!/^\+?[0-9*#]{1,32}$/.test(number)) throw new CallControlError('BAD_TARGET', `not a number or SIP URI: ${to}`);
  return number;
}

/** The user part of a URI (the dialled or calling number), '' when none. */
function numberOf(uri: SipUri | undefined): string {
  return uri?.user ?? '';
}

/** The CDR cause for a final failure status (RFC 3261 §21 classes). */
function causeOfStatus(status: number): string {
  if (status === 486 || status === 600) return 'busy';
  if (status === 408 || status === 480) return 'no-answer';
  if (status === 487) return 'canceled';
  if (status === 403 || status === 603) return 'declined';
  if (status === 404 || status === 484 || status === 604) return 'not-found';
  if (status === 401 || status === 407) return 'auth-failed';
  if (status === 488 || status === 606) return 'incompatible-media';
  if (status >= 500 && status < 600) return 'server-error';
  return `sip-${status}`;
}

/**
 * Whether the party may take `method`: its INVITE (or 2xx) listed it in Allow (RFC 3261 §20.5), or sent no Allow at
 * all (many UAs omit it; a refusal then makes us fall back).
 */
function peerAllows(leg: SipLeg, method: string): boolean {
  const s = leg.session as { request?: { getHeaders(name: string): string[] }; finalResponse?: { getHeaders(name: string): string[] } };
  const msg = leg.role === 'uas' ? s.request : s.finalResponse;
  if (!msg) return true;
  const allow = msg.getHeaders('Allow');
  if (allow.length === 0) return true;
  const re = new RegExp(`(^|[\\s,])${method}([\\s,]|$)`, 'i');
  for (const v of allow) if (re.test(v)) return true;
  return false;
}

/** A REFER refused with one of these means "I will not do REFER": the B2BUA does the transfer itself. */
function peerAllowsFallback(status: number): boolean {
  return status === 405 || status === 501 || status === 403 || status === 420 || status === 489;
}

function safely(fn: () => void): void {
  try {
    fn();
  } catch {
    // An application callback's failure must not break call control.
  }
}
