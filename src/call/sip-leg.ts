import { ResourceExhaustedError, TypedEmitter, type Clock } from '../util';
import type {
  ClientInviteSession,
  InDialogRequest,
  InviteFailure,
  InviteOptions,
  InviteSession,
  ProvisionalInfo,
  ReferProgress,
  ServerInviteSession,
  SessionEndCause,
  SipUserAgent,
} from '../sip/ua';
import type { SipRequest, SipResponse } from '../sip/message';
import {
  formatSessionExpires,
  hasOptionTag,
  negotiateSessionTimerUac,
  negotiateSessionTimerUas,
  OPTION_TAG_TIMER,
  readSessionExpires,
  SessionTimer,
  type NegotiatedSessionTimer,
  type SessionRefresher,
  type SessionTimerPolicy,
  type UasSessionTimerDecision,
} from '../sip/dialog';
import { negotiatedMedia, parseSdp, SdpSession, serializeSdp, type NegotiatedMedia, type SdpDirection, type SessionDescription } from '../sdp';
import type { MediaEngine, MediaSession } from '../media';
import { parseInfoDtmf } from './dtmf-info';

/** Where a key press was detected. */
export type DtmfSource = 'rfc4733' | 'inband' | 'info';

/** Why a leg ended, from the SIP session, plus the SIP status when a final response ended it. */
export interface LegEnd {
  cause: SessionEndCause;
  detail: string | undefined;
  /** UAC: the final status that ended the attempt; UAS: the final status we sent when we rejected. */
  status: number | undefined;
}

export type SipLegEvents = {
  /** The dialog is confirmed (UAS: ACK received; UAC: 2xx received and ACKed). */
  confirmed: [];
  /** The leg is over; its media is closed. Emitted once. */
  ended: [end: LegEnd];
  /** A key press from this leg's party, reported once whatever carried it. */
  dtmf: [digit: string, source: DtmfSource, durationMs: number | undefined];
  /** UAC: a provisional response from the callee; `earlyMedia` when it carried an SDP answer we applied. */
  progress: [status: number, earlyMedia: boolean];
  /**
   * The call is answered. UAC: the callee's 2xx arrived (ACK sent). UAS: our 2xx left, which may be later than
   * answer() when it waited for the PRACK of a reliable provisional (RFC 3262 §3), or never (no PRACK came).
   */
  answered: [];
  /** The party put us on hold (true) or took us off hold (false) with a re-INVITE/UPDATE (RFC 3264 §8.4). */
  remotehold: [held: boolean];
  /** The party sent REFER: answer it synchronously (acceptRefer or respond), or it gets 501. */
  refer: [req: InDialogRequest];
  /** Progress of a REFER we sent (RFC 3515 §2.4.5). */
  referprogress: [progress: ReferProgress];
  /** No RTP for the media timeout (RTP_TIMEOUT_S). */
  mediatimeout: [];
  /** The RFC 4028 session timer expired without a refresh. */
  sessiontimeout: [];
};

export interface SipLegOptions {
  media: MediaEngine;
  /** Address written in our SDP (c= and o=). */
  mediaAddress: string;
  /** RTP timeout; 0 disables. */
  mediaTimeoutMs: number;
  clock: Clock;
  /** RFC 4028 policy for INVITEs we answer; undefined = no session timers. */
  sessionTimer?: SessionTimerPolicy;
  /** Called with each leg's media session once it carries the call's media (observability, tests). */
  onMediaSession?(callId: string, media: MediaSession): void;
}

/** Failure to set up a leg, as the SIP answer to send. */
export interface LegRefusal {
  status: number;
  reason?: string;
  headers?: [string, string][];
}

const SDP = 'application/sdp';
const SDP_ENCODE = (d: SessionDescription): Buffer => Buffer.from(serializeSdp(d));

/**
 * One call leg as the B2BUA sees it: the SIP INVITE session with a party, our media session toward it, and the
 * SDP state between them (RFC 3264 offer/answer, hold direction, session version). Answers the party's in-dialog
 * requests (re-INVITE/UPDATE offers, INFO DTMF, session refreshes) and reports what matters to the call (DTMF,
 * hold from their side, REFER, media and session timeouts, the end). Owns and closes its media session.
 */
export class SipLeg extends TypedEmitter<SipLegEvents> {
  readonly session: InviteSession;
  readonly role: 'uas' | 'uac';
  media: MediaSession | undefined;
  /** The agreed stream, once offer/answer completed. */
  negotiated: NegotiatedMedia | undefined;
  private readonly opts: SipLegOptions;
  private readonly sdp: SdpSession;
  /** Direction we ask for toward the party: sendonly while we hold it (RFC 3264 §8.4). */
  private localDirection: SdpDirection = 'sendrecv';
  private remoteHeldValue = false;
  private timer: SessionTimer | undefined;
  private timerNeg: NegotiatedSessionTimer | undefined;
  private peerAllowsUpdate = false;
  /** UAS: the offer of the INVITE, the answer we computed for it, or our offer when the INVITE had none. */
  private initialOffer: SessionDescription | undefined;
  private initialAnswer: SessionDescription | undefined;
  private lateOffer: SessionDescription | undefined;
  private timerHeaders: [string, string][] = [];
  private endedValue: LegEnd | undefined;
  private mediaStarted = false;
  /** The 2xx went out (UAS) or arrived (UAC). */
  private isAnswered = false;
  private heldByUs = false;
  private lastStats: ReturnType<MediaSession['stats']> | undefined;

  /** UAC: why the INVITE was not answered. */
  failure: InviteFailure | undefined;

  constructor(session: InviteSession, role: 'uas' | 'uac', opts: SipLegOptions, prepared?: { media: MediaSession; sdp: SdpSession; offer: SessionDescription }) {
    super();
    this.session = session;
    this.role = role;
    this.opts = opts;
    this.sdp = prepared?.sdp ?? new SdpSession({ address: opts.mediaAddress });
    if (prepared) {
      this.media = prepared.media;
      this.initialOffer = prepared.offer;
      this.watchMedia(prepared.media);
    }
    session.on('request', this.onRequest);
    session.on('referprogress', this.onReferProgress);
    session.once('ended', this.onSessionEnded);
    // The RTP timeout counts from the answer: a call that rings without early media sends no RTP, and that is
    // not a dead call (RTP_TIMEOUT_S is about media that stopped). Registered first, so it runs before the call
    // layer hears of the answer.
    this.once('answered', () => {
      this.isAnswered = true;
      this.media?.restartMediaTimeout();
    });
  }

  /**
   * Place an outbound leg: open media, send the INVITE with our offer through `ua` (digest answers, no-answer
   * timer and CANCEL are the session's), and follow it: early media from an SDP in a provisional (RFC 3960), the
   * answer in the 2xx. Resolves with the leg at once (the INVITE leaves on the next tick), or the refusal when no
   * media could be opened.
   */
  static async dial(ua: SipUserAgent, invite: Omit<InviteOptions, 'body' | 'contentType' | 'onOffer'>, opts: SipLegOptions): Promise<SipLeg | LegRefusal> {
    let media: MediaSession;
    try {
      media = await opts.media.open({ mediaTimeoutMs: opts.mediaTimeoutMs });
    } catch (err) {
      return refusalOf(err);
    }
    const sdp = new SdpSession({ address: opts.mediaAddress });
    const offer = sdp.createOffer({ address: opts.mediaAddress, port: media.rtpPort });
    let session: ClientInviteSession;
    try {
      session = ua.invite({ ...invite, body: SDP_ENCODE(offer), contentType: SDP });
    } catch (err) {
      void media.close();
      return { status: 500, reason: `Server Internal Error (${err instanceof Error ? err.message : String(err)})` };
    }
    const leg = new SipLeg(session, 'uac', opts, { media, sdp, offer });
    session.on('provisional', (info: ProvisionalInfo) => {
      const early = info.body !== undefined && leg.applyAnswer(info.response);
      leg.safeEmit('progress', info.status, early);
    });
    session.on('answered', (res) => {
      if (!leg.applyAnswer(res)) {
        // RFC 3264 §6: an answer we cannot use; the session ACKed it, so end the call with BYE.
        session.bye([['Reason', 'SIP;cause=488;text="Not Acceptable Here"']]);
        return;
      }
      leg.confirmedUac(res);
      leg.safeEmit('answered');
    });
    session.on('failed', (f: InviteFailure) => {
      leg.failure = f;
    });
    return leg;
  }

  get callId(): string {
    return this.session.callId;
  }
  get isEnded(): boolean {
    return this.endedValue !== undefined;
  }
  get end(): LegEnd | undefined {
    return this.endedValue;
  }
  /** The party has us on hold (its last offer was sendonly/inactive or c=0.0.0.0). */
  get remoteHeld(): boolean {
    return this.remoteHeldValue;
  }
  /** We have the party on hold. */
  get heldByLocal(): boolean {
    return this.heldByUs;
  }
  /** Codec name we send (PCMU/PCMA), once negotiated. */
  get codec(): string | undefined {
    return this.negotiated?.codec;
  }

  /** The media statistics (kept after the media session closed). */
  mediaStats(): ReturnType<MediaSession['stats']> | undefined {
    if (this.media && !this.media.isClosed) this.lastStats = this.media.stats();
    return this.lastStats;
  }

  // ---- UAS: an INVITE we answer ------------------------------------------------------------------------------

  private get uas(): ServerInviteSession {
    return this.session as ServerInviteSession;
  }

  /**
   * Check the INVITE and get the media ready: SDP well-formed (else 400), session timer acceptable (else 422,
   * RFC 4028 §6), RTP ports available (else 503 with Retry-After, RFC 3261 §21.5.4), a codec in common (else 488
   * with a Warning, RFC 3261 §21.4.26). Nothing is sent; the caller rejects with the refusal returned.
   */
  async prepareInbound(): Promise<LegRefusal | undefined> {
    const req = this.uas.request;
    if (req.body.length > 0) {
      const parsed = parseSdp(req.body);
      if (!parsed.ok) return { status: 400, reason: 'Bad Request (Malformed SDP)' };
      this.initialOffer = parsed.sdp;
    }
    this.peerAllowsUpdate = allowsUpdate(req);
    if (this.opts.sessionTimer) {
      const decision = negotiateSessionTimerUas(req, this.opts.sessionTimer);
      if (decision.kind === 'reject') return { status: decision.status, reason: decision.reason, headers: decision.headers };
      this.timerNeg = decision.timer;
      this.timerHeaders = decision.headers;
    }
    const refusal = await this.openMedia();
    if (refusal) return refusal;
    const media = this.media as MediaSession;
    if (this.initialOffer) {
      const answer = this.sdp.createAnswer(this.initialOffer, this.localMedia(media));
      if (!answer.ok) return { status: 488, headers: [['Warning', answer.warning]] };
      this.initialAnswer = answer.answer;
      this.negotiated = answer.media;
    }
    return undefined;
  }

  /** Whether an early-media 183 is possible (the INVITE carried an offer). */
  get canEarlyMedia(): boolean {
    return this.initialAnswer !== undefined;
  }

  /**
   * Tell the caller we are reaching the destination: 180 Ringing (its phone plays ringback), or with
   * `earlyMedia` 183 Session Progress with our SDP answer so audio we send is heard before the answer (RFC 3960).
   */
  ring(earlyMedia: boolean): void {
    if (this.isEnded) return;
    if (earlyMedia && this.initialAnswer) {
      this.applyNegotiated();
      this.uas.progress(183, { body: SDP_ENCODE(this.initialAnswer), contentType: SDP });
      return;
    }
    this.uas.progress(180);
  }

  /**
   * Answer 200 OK with the SDP answer (or our offer, for a late-offer INVITE: the answer comes in the ACK). The 2xx
   * may be held for a PRACK (RFC 3262 §3): `answered` tells when it left.
   */
  answer(): void {
    if (this.isEnded) return;
    const s = this.uas;
    s.once('confirmed', (ack) => this.onConfirmedUas(ack as SipRequest));
    s.once('answered', () => {
      if (this.isEnded) return;
      // RFC 4028 §10: the session timer runs from the moment the 2xx is sent, not from the ACK.
      if (this.timerNeg) this.startTimer(this.timerNeg);
      this.safeEmit('answered');
    });
    const headers: [string, string][] = [...this.timerHeaders, ['Allow', 'INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, UPDATE, REFER, NOTIFY']];
    if (this.initialAnswer) {
      this.applyNegotiated();
      s.accept({ body: SDP_ENCODE(this.initialAnswer), contentType: SDP, headers });
      return;
    }
    const media = this.media as MediaSession;
    this.lateOffer = this.sdp.createOffer(this.localMedia(media));
    s.accept({ body: SDP_ENCODE(this.lateOffer), contentType: SDP, headers });
  }

  /** Refuse the INVITE (before answer), e.g. 486, 603, 480. */
  reject(status: number, reason?: string, headers?: [string, string][]): void {
    if (this.isEnded) return;
    this.uas.reject(status, { reason, headers });
  }

  private onConfirmedUas(ack: SipRequest): void {
    if (this.isEnded) return;
    if (this.lateOffer) {
      // RFC 3261 §13.2.1: with an offer in our 2xx, the ACK carries the answer.
      const parsed = ack.body.length > 0 ? parseSdp(ack.body) : undefined;
      const neg = parsed?.ok ? negotiatedMedia(this.lateOffer, parsed.sdp, 'offerer') : undefined;
      if (!neg?.ok) {
        this.hangup([['Reason', 'SIP;cause=488;text="No acceptable answer in ACK"']]);
        return;
      }
      this.negotiated = neg.media;
      this.applyNegotiated();
    }
    this.safeEmit('confirmed');
  }

  // ---- UAC: an INVITE we sent ---------------------------------------------------------------------------------

  /**
   * Take an SDP answer from a provisional (early media, RFC 3960) or final response to our INVITE. Returns false
   * when the body is not an acceptable answer.
   */
  applyAnswer(res: SipResponse): boolean {
    if (res.body.length === 0 || !this.initialOffer) return this.negotiated !== undefined;
    const parsed = parseSdp(res.body);
    if (!parsed.ok) return false;
    const neg = negotiatedMedia(this.initialOffer, parsed.sdp, 'offerer');
    if (!neg.ok) return false;
    this.negotiated = neg.media;
    this.applyNegotiated();
    return true;
  }

  /** The UAC dialog is confirmed by `res` (2xx): start the session timer the answer asked for (RFC 4028 §7.2). */
  confirmedUac(res: SipResponse): void {
    this.peerAllowsUpdate = allowsUpdate(res);
    const neg = negotiateSessionTimerUac(res);
    if (neg) this.startTimer(neg);
    this.safeEmit('confirmed');
  }

  // ---- mid-call ------------------------------------------------------------------------------------------------

  /**
   * Put the party on hold (RFC 3264 §8.4: re-INVITE offering a=sendonly) and play `musicOnHold` to it, looped.
   * Resolves true once the party accepted.
   */
  async hold(musicOnHold?: string): Promise<boolean> {
    if (this.heldByUs) return true;
    const ok = await this.reoffer('sendonly');
    if (!ok) return false;
    this.heldByUs = true;
    const media = this.media;
    if (media && !media.isClosed) {
      media.hold();
      if (musicOnHold) media.play(musicOnHold, { loop: true }).catch(() => undefined);
    }
    return true;
  }

  /** Take the party off hold (re-INVITE with a=sendrecv) and stop the music. */
  async resume(): Promise<boolean> {
    if (!this.heldByUs) return true;
    const ok = await this.reoffer('sendrecv');
    if (!ok) return false;
    this.heldByUs = false;
    const media = this.media;
    if (media && !media.isClosed) {
      media.stop();
      media.resume();
    }
    return true;
  }

  /** Send a new offer with `direction` in a re-INVITE and apply the answer (RFC 3261 §14.1). */
  private async reoffer(direction: SdpDirection): Promise<boolean> {
    const media = this.media;
    if (!media || this.isEnded) return false;
    const previous = this.localDirection;
    this.localDirection = direction;
    const offer = this.sdp.createOffer(this.localMedia(media));
    let res: SipResponse;
    try {
      res = await this.session.reinvite({ body: SDP_ENCODE(offer), contentType: SDP, headers: this.refreshHeaders() });
    } catch {
      this.localDirection = previous;
      return false;
    }
    if (res.status < 200 || res.status >= 300) {
      // RFC 3261 §14.1: a failed re-INVITE leaves the session as it was.
      this.localDirection = previous;
      return false;
    }
    const parsed = res.body.length > 0 ? parseSdp(res.body) : undefined;
    const neg = parsed?.ok ? negotiatedMedia(offer, parsed.sdp, 'offerer') : undefined;
    if (neg?.ok) {
      this.negotiated = neg.media;
      this.applyNegotiated();
    }
    this.refreshedByUs(res);
    return true;
  }

  /** End the leg: BYE when confirmed, CANCEL (UAC) or a final response (UAS) before that. */
  hangup(headers: [string, string][] = [], status = 480): void {
    if (this.isEnded) return;
    const s = this.session;
    if (this.role === 'uas') {
      const uas = this.uas;
      if (uas.state === 'Incoming' || uas.state === 'Early') uas.reject(status);
      else uas.bye(headers);
      return;
    }
    (s as ClientInviteSession).hangup(headers);
  }

  /** Send DTMF to the party: RFC 4733 in the RTP stream when negotiated, else in-band tones. */
  sendDtmf(digits: string): Promise<void> {
    const media = this.media;
    if (!media || media.isClosed) return Promise.resolve();
    return media.sendDtmf(digits);
  }

  // ---- internals ------------------------------------------------------------------------------------------------

  private async openMedia(): Promise<LegRefusal | undefined> {
    try {
      this.media = await this.opts.media.open({ mediaTimeoutMs: this.opts.mediaTimeoutMs });
    } catch (err) {
      return refusalOf(err);
    }
    const media = this.media;
    if (this.session.isEnded) {
      // CANCEL (or shutdown) while the ports were being bound.
      void media.close();
      return { status: 487 };
    }
    this.watchMedia(media);
    return undefined;
  }

  private watchMedia(media: MediaSession): void {
    media.on('dtmf', (ev) => this.safeEmit('dtmf', ev.digit, ev.source, ev.durationMs));
    media.on('timeout', () => {
      // Before the answer the timeout is ignored; answering re-arms it (restartMediaTimeout).
      if (this.isAnswered) this.safeEmit('mediatimeout');
    });
  }

  private localMedia(media: MediaSession): { address: string; port: number; direction: SdpDirection } {
    return { address: this.opts.mediaAddress, port: media.rtpPort, direction: this.localDirection };
  }

  private applyNegotiated(): void {
    const media = this.media;
    const neg = this.negotiated;
    if (!media || media.isClosed || !neg) return;
    try {
      media.setRemote(neg);
    } catch {
      // A payload type media cannot send (the SDP layer only agrees G.711, so this is a bug): keep the call, no audio.
      return;
    }
    if (!this.mediaStarted) {
      this.mediaStarted = true;
      this.opts.onMediaSession?.(this.callId, media);
    }
    if (neg.remoteHold !== this.remoteHeldValue) {
      this.remoteHeldValue = neg.remoteHold;
      this.safeEmit('remotehold', neg.remoteHold);
    }
  }

  /**
   * Session-Expires for a re-INVITE/UPDATE we send, when a timer runs: the current interval, and (RFC 4028 §7.4)
   * refresher=uac while we refresh, uas while the party does. The parameter names a role in this transaction, not in
   * the INVITE that set the timer up.
   */
  private refreshHeaders(): [string, string][] {
    const n = this.timerNeg;
    if (!n) return [];
    return [['Session-Expires', formatSessionExpires({ interval: n.interval, refresher: n.localRefresher ? 'uac' : 'uas' })], ['Supported', OPTION_TAG_TIMER]];
  }

  /**
   * Session-Expires for our 2xx to a re-INVITE/UPDATE of the party that asked for nothing new: the running values,
   * the refresher named as a role in that transaction (RFC 4028 §9), with Require: timer when the party refreshes.
   */
  private answerTimerHeaders(): [string, string][] {
    const n = this.timerNeg;
    if (!n) return [];
    const headers: [string, string][] = [['Session-Expires', formatSessionExpires({ interval: n.interval, refresher: n.localRefresher ? 'uas' : 'uac' })]];
    headers.push(n.localRefresher ? ['Supported', OPTION_TAG_TIMER] : ['Require', OPTION_TAG_TIMER]);
    return headers;
  }

  /**
   * A 2xx to a re-INVITE/UPDATE we sent refreshes the session (RFC 4028 §10), with the interval and refresher the
   * 2xx names (§7.2, roles of our request: uac is us). A 2xx without Session-Expires ends the session timer (§7.2).
   */
  private refreshedByUs(res: SipResponse): void {
    if (!this.timer || this.isEnded) return;
    const neg = negotiateSessionTimerUac(res);
    if (!neg) {
      this.timer.stop();
      this.timer = undefined;
      this.timerNeg = undefined;
      return;
    }
    this.timerNeg = neg;
    this.timer.restart(neg.interval, neg.localRefresher);
  }

  private startTimer(neg: NegotiatedSessionTimer): void {
    this.timerNeg = neg;
    this.timer?.stop();
    const timer = new SessionTimer({ clock: this.opts.clock, interval: neg.interval, localRefresher: neg.localRefresher });
    timer.on('refresh', () => this.sendRefresh());
    timer.on('expired', () => this.safeEmit('sessiontimeout'));
    this.timer = timer;
    timer.start();
  }

  /** RFC 4028 §7.4/§8.4: refresh with UPDATE when the peer allows it (no SDP needed), else a re-INVITE. */
  private sendRefresh(): void {
    if (this.isEnded) return;
    if (this.peerAllowsUpdate) {
      this.session.sendRequest(
        'UPDATE',
        { headers: this.refreshHeaders() },
        {
          onFinal: (res) => {
            if (res.status >= 200 && res.status < 300) this.refreshedByUs(res);
          },
        },
      );
      return;
    }
    void this.reoffer(this.localDirection);
  }

  private readonly onRequest = (r: InDialogRequest): void => {
    const req = r.request;
    switch (req.method) {
      case 'INVITE':
      case 'UPDATE':
        this.answerOffer(r);
        return;
      case 'INFO': {
        const dtmf = parseInfoDtmf(req.contentType, req.body);
        if (dtmf) {
          r.respond(200);
          this.safeEmit('dtmf', dtmf.digit, 'info', dtmf.durationMs);
        }
        return;
      }
      case 'REFER':
        this.safeEmit('refer', r);
        return;
      case 'OPTIONS':
        r.respond(200, { headers: [['Allow', 'INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, UPDATE, REFER, NOTIFY']] });
        return;
      default:
        return;
    }
  };

  /**
   * A re-INVITE or UPDATE from the party: a new offer (hold, codec change, new address) or a session refresh. A
   * refresh restarts the session timer only once our 2xx to it has gone out (RFC 4028 §10): a 400 or 488 is no
   * refresh, and the session still expires when the refresher gets nothing better through. The 2xx carries, and the
   * timer takes up, the interval and refresher the refresh asked for (see peerSessionTimer).
   */
  private answerOffer(incoming: InDialogRequest): void {
    const req = incoming.request;
    const media = this.media;
    const refresh = req.getHeader('Session-Expires') !== undefined || hasOptionTag(req, 'Supported', OPTION_TAG_TIMER);
    const decision = this.peerSessionTimer(req);
    if (decision.kind === 'reject') {
      // RFC 4028 §9: below our Min-SE -> 422 with our Min-SE; the session and its timer stay as they were.
      incoming.respond(decision.status, { reason: decision.reason, headers: decision.headers });
      return;
    }
    const timerHeaders = decision.headers;
    const r: Pick<InDialogRequest, 'respond'> = {
      respond: (status, opts) => {
        incoming.respond(status, opts);
        if (refresh && status >= 200 && status < 300) this.refreshedByPeer(decision.timer);
      },
    };
    if (!media || media.isClosed) {
      r.respond(500, { reason: 'Server Internal Error (No Media)' });
      return;
    }
    if (req.body.length === 0) {
      if (req.method === 'UPDATE') {
        r.respond(200, { headers: timerHeaders });
        return;
      }
      // An offerless re-INVITE asks for our offer (RFC 3261 §14.2): the current description, same version.
      const offer = this.sdp.createOffer(this.localMedia(media));
      r.respond(200, { body: SDP_ENCODE(offer), contentType: SDP, headers: timerHeaders });
      return;
    }
    const parsed = parseSdp(req.body);
    if (!parsed.ok) {
      r.respond(400, { reason: 'Bad Request (Malformed SDP)' });
      return;
    }
    const answer = this.sdp.createAnswer(parsed.sdp, this.localMedia(media));
    if (!answer.ok) {
      // RFC 3261 §14.2: a refused re-offer leaves the session unchanged.
      r.respond(488, { headers: [['Warning', answer.warning]] });
      return;
    }
    this.negotiated = answer.media;
    this.applyNegotiated();
    r.respond(200, { body: SDP_ENCODE(answer.answer), contentType: SDP, headers: timerHeaders });
  }

  /**
   * RFC 4028 §9 for a re-INVITE/UPDATE of the party. A Session-Expires in it is negotiated as in an initial INVITE:
   * below our Min-SE -> 422; else its interval (capped by ours, never under its Min-SE or ours) and the refresher it
   * names, roles of this transaction (uac: the party). A refresh that names no refresher leaves the role where it is.
   * Without a (well-formed) Session-Expires the running values stand.
   */
  private peerSessionTimer(req: SipRequest): UasSessionTimerDecision {
    const policy = this.opts.sessionTimer;
    const current = this.timerNeg;
    if (!policy || readSessionExpires(req) === undefined) return { kind: 'accept', timer: current, headers: this.answerTimerHeaders() };
    const preferredRefresher: SessionRefresher | undefined = current ? (current.localRefresher ? 'uas' : 'uac') : policy.preferredRefresher;
    return negotiateSessionTimerUas(req, { ...policy, preferredRefresher });
  }

  /** Our 2xx to the party's refresh went out (RFC 4028 §10): the timer restarts now, with the values of that 2xx. */
  private refreshedByPeer(neg: NegotiatedSessionTimer | undefined): void {
    if (!neg || this.isEnded) return;
    if (!this.timer) {
      this.startTimer(neg);
      return;
    }
    this.timerNeg = neg;
    this.timer.restart(neg.interval, neg.localRefresher);
  }

  private readonly onReferProgress = (p: ReferProgress): void => {
    this.safeEmit('referprogress', p);
  };

  private readonly onSessionEnded = (cause: SessionEndCause, detail?: string): void => {
    const status = this.role === 'uas' ? this.uas.finalResponse?.status : this.failure?.status;
    this.finish({ cause, detail, status });
  };

  /** Record the end, stop timers, close media (stats are kept), tell the call. */
  finish(end: LegEnd): void {
    if (this.endedValue) return;
    this.endedValue = end;
    this.timer?.stop();
    this.timer = undefined;
    this.session.off('request', this.onRequest);
    this.session.off('referprogress', this.onReferProgress);
    const media = this.media;
    if (media && !media.isClosed) {
      this.lastStats = media.stats();
      void media.close();
    }
    this.safeEmit('ended', end);
  }

  /** Whether media was ever applied (for tests and diagnostics). */
  get mediaActive(): boolean {
    return this.mediaStarted && this.media !== undefined && !this.media.isClosed;
  }
}

function refusalOf(err: unknown): LegRefusal {
  // RTP ports exhausted is temporary (RFC 3261 §21.5.4: 503 with Retry-After).
  if (err instanceof ResourceExhaustedError) return { status: 503, reason: 'Service Unavailable (No Media Ports)', headers: [['Retry-After', '5']] };
  return { status: 500, reason: 'Server Internal Error (Media)' };
}

/** The peer listed UPDATE in Allow (RFC 3311 §5.1): session refreshes can use it. */
function allowsUpdate(msg: SipRequest | SipResponse): boolean {
  for (const v of msg.getHeaders('Allow')) if (/(^|[\s,])UPDATE([\s,]|$)/i.test(v)) return true;
  return false;
}
