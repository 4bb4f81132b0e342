import { ResourceExhaustedError } from '../util';
import type { InDialogRequest, ServerInviteSession } from '../sip/ua';
import { negotiatedMedia, parseSdp, SdpSession, serializeSdp, type NegotiatedMedia, type SessionDescription } from '../sdp';
import type { MediaEngine, MediaSession } from '../media';

export interface AnswerRouteOptions {
  /** Opens the call's media session (ports from the RTP pool, shared media clock). */
  media: MediaEngine;
  /** Address written in SDP c= and o= (where we receive media). */
  mediaAddress: string;
  /** End the call after this long without RTP (RTP_TIMEOUT_S); 0 disables. */
  mediaTimeoutMs: number;
  /** Called when a call could not be set up, for logs. */
  onError?(callId: string, err: unknown): void;
  /** Called with each call's media session once it is answered (observability, tests). */
  onSession?(callId: string, media: MediaSession): void;
}

const SDP = 'application/sdp';

/**
 * The `answer` route: a built-in responder that rings and answers every call with a real media session
 * (180 Ringing, 200 OK with an SDP answer per RFC 3264), keeps it running (RTCP, latching, jitter buffer, DTMF
 * detection, media timeout) and waits for the caller's BYE. Subclasses decide what the call hears ({@link onMedia}). Late offers (INVITE without SDP) get our offer in the 200 and the answer from
 * the ACK (RFC 3261 §13.2.1). Re-INVITEs are answered from the same endpoint (hold/resume mirrored).
 */
export class AnswerRoute {
  constructor(protected readonly opts: AnswerRouteOptions) {}

  /** What the answered call does with its media; the answer route only listens (silence goes back). */
  protected onMedia(_callId: string, _media: MediaSession): void {}

  /** Take the call. Never throws: failures become the right SIP answer. */
  async handle(session: ServerInviteSession): Promise<void> {
    const req = session.request;
    let offer: SessionDescription | undefined;
    if (req.body.length > 0) {
      const parsed = parseSdp(req.body);
      if (!parsed.ok) {
        session.reject(400, { reason: 'Bad Request (Malformed SDP)' });
        return;
      }
      offer = parsed.sdp;
    }
    let media: MediaSession;
    try {
      media = await this.opts.media.open({ mediaTimeoutMs: this.opts.mediaTimeoutMs });
    } catch (err) {
      if (err instanceof ResourceExhaustedError) {
        // RTP ports exhausted: a temporary condition (RFC 3261 §21.5.4).
        session.reject(503, { reason: 'Service Unavailable (No Media Ports)', headers: [['Retry-After', '5']] });
      } else {
        this.opts.onError?.(session.callId, err);
        session.reject(500);
      }
      return;
    }
    if (session.isEnded) {
      // CANCEL arrived while the ports were being bound.
      void media.close();
      return;
    }
    const callId = session.callId;
    const sdp = new SdpSession({ address: this.opts.mediaAddress });
    const local = { address: this.opts.mediaAddress, port: media.rtpPort };
    session.once('ended', () => void media.close());
    media.on('timeout', () => session.bye([['Reason', 'SIP;cause=408;text="RTP timeout"']]));
    let started = false;
    const apply = (m: NegotiatedMedia): void => {
      if (media.isClosed) return;
      media.setRemote(m);
      if (started) return;
      started = true;
      try {
        this.opts.onSession?.(callId, media);
        this.onMedia(callId, media);
      } catch (err) {
        this.opts.onError?.(callId, err);
      }
    };

    session.on('request', (r: InDialogRequest) => this.reinvite(r, sdp, local, apply));

    if (offer) {
      const answer = sdp.createAnswer(offer, local);
      if (!answer.ok) {
        // RFC 3261 §21.4.26 / §20.43: 488 with a Warning naming why.
        void media.close();
        session.reject(488, { headers: [['Warning', answer.warning]] });
        return;
      }
      apply(answer.media);
      session.progress(180);
      session.accept({ body: Buffer.from(serializeSdp(answer.answer)), contentType: SDP });
      return;
    }
    // Late offer: offer in the 200, answer in the ACK.
    const ourOffer = sdp.createOffer(local);
    session.once('confirmed', (ack) => {
      const parsed = ack.body.length > 0 ? parseSdp(ack.body) : undefined;
      const neg = parsed?.ok ? negotiatedMedia(ourOffer, parsed.sdp, 'offerer') : undefined;
      if (neg?.ok) apply(neg.media);
      else session.bye([['Reason', 'SIP;cause=488;text="No acceptable answer in ACK"']]);
    });
    session.progress(180);
    session.accept({ body: Buffer.from(serializeSdp(ourOffer)), contentType: SDP });
  }

  private reinvite(r: InDialogRequest, sdp: SdpSession, local: { address: string; port: number }, apply: (m: NegotiatedMedia) => void): void {
    const req = r.request;
    if (req.method !== 'INVITE' && req.method !== 'UPDATE') return;
    if (req.body.length === 0) {
      // An offerless re-INVITE asks for our offer (RFC 3261 §14.2); answer with the current description.
      r.respond(200, { body: Buffer.from(serializeSdp(sdp.last ?? sdp.createOffer(local))), contentType: SDP });
      return;
    }
    const parsed = parseSdp(req.body);
    if (!parsed.ok) {
      r.respond(400, { reason: 'Bad Request (Malformed SDP)' });
      return;
    }
    const answer = sdp.createAnswer(parsed.sdp, local);
    if (!answer.ok) {
      r.respond(488, { headers: [['Warning', answer.warning]] });
      return;
    }
    apply(answer.media);
    r.respond(200, { body: Buffer.from(serializeSdp(answer.answer)), contentType: SDP });
  }
}
