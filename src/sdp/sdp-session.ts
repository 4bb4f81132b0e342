import { pooledRandomBytes } from '../util';
import { AnswerResult, createAnswer, createOffer, LocalMediaOptions } from './offer-answer';
import { serializeSdp } from './sdp-serializer';
import { SdpOrigin, SessionDescription } from './sdp-types';

export interface SdpSessionOptions {
  /** Address for the o= line (our media/signalling address). */
  address: string;
  /** o= username (default "-"). */
  username?: string;
  /** Session id (digits); default random. */
  sessionId?: string;
  sessionName?: string;
}

/**
 * The SDP state of one call leg: a stable o= session id, and a version that increases by one only when the
 * description we send changes (RFC 3264 §8: a re-offer that changes nothing keeps the version; RFC 8866 §5.2).
 */
export class SdpSession {
  readonly sessionId: string;
  readonly username: string;
  readonly address: string;
  readonly sessionName: string;
  private version: bigint;
  private lastBody: string | null = null;
  /** The last description produced (offer or answer). */
  last: SessionDescription | null = null;

  constructor(opts: SdpSessionOptions) {
    this.address = opts.address;
    this.username = opts.username ?? '-';
    this.sessionName = opts.sessionName ?? '-';
    // 62 random bits as decimal: unique per session without relying on the wall clock.
    this.sessionId = opts.sessionId ?? (pooledRandomBytes(8).readBigUInt64BE(0) >> 2n).toString();
    if (!/^[0-9]+$/.test(this.sessionId)) throw new TypeError('SDP session id must be digits');
    this.version = 0n;
  }

  /** Current o= version. */
  get sessionVersion(): string {
    return this.version.toString();
  }

  private origin(): SdpOrigin {
    return {
      username: this.username,
      sessionId: this.sessionId,
      sessionVersion: this.version.toString(),
      netType: 'IN',
      addrType: this.address.includes(':') ? 'IP6' : 'IP4',
      address: this.address,
    };
  }

  /** Stamp `sdp` with our origin, bumping the version if its content differs from the last one sent. */
  describe(sdp: SessionDescription): SessionDescription {
    const probe: SessionDescription = { ...sdp, origin: { ...this.origin(), sessionVersion: '0' }, sessionName: this.sessionName };
    const body = serializeSdp(probe);
    if (this.lastBody !== null && body !== this.lastBody) this.version++;
    this.lastBody = body;
    const stamped: SessionDescription = { ...sdp, origin: this.origin(), sessionName: this.sessionName };
    this.last = stamped;
    return stamped;
  }

  /** An offer for a new call or a re-INVITE (hold: `direction: 'sendonly'`). */
  createOffer(local: LocalMediaOptions): SessionDescription {
    return this.describe(createOffer(local));
  }

  /** Answer `offer`; on success the answer carries our origin and version. */
  createAnswer(offer: SessionDescription, local: LocalMediaOptions): AnswerResult {
    const res = createAnswer(offer, local);
    if (!res.ok) return res;
    return { ok: true, answer: this.describe(res.answer), media: res.media };
  }
}
