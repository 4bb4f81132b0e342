import { AudioCodecName, audioCodecOf, codecRtpmap, DEFAULT_CODECS, DEFAULT_TELEPHONE_EVENT_PT, intersectEvents, STATIC_PAYLOAD_TYPES, TELEPHONE_EVENT_FMTP, telephoneEventPt } from './codecs';
import { createMedia, SdpConnection, SdpDirection, SdpMedia, SdpOrigin, SessionDescription } from './sdp-types';

/** Our side of a media negotiation. */
export interface LocalMediaOptions {
  /** Address we receive media on (c= line). */
  address: string;
  /** Our RTP port (even; RTCP on port + 1 unless rtcp-mux). */
  port: number;
  /** Codecs we support, in our preference order (offers); answers follow the offerer's order. */
  codecs?: readonly AudioCodecName[];
  /** Negotiate RFC 4733 telephone-event (default true). */
  telephoneEvent?: boolean;
  /** Payload type for telephone-event in our offers (default 101). */
  telephoneEventPt?: number;
  /** Packetisation time we want to receive, ms (default 20). */
  ptime?: number;
  /** The direction we want (sendonly to put the peer on hold; default sendrecv). */
  direction?: SdpDirection;
  /** Offer / accept RFC 5761 rtcp-mux (default false). */
  rtcpMux?: boolean;
  /** Origin line to use; SdpSession fills it in. */
  origin?: SdpOrigin;
  sessionName?: string;
  /** Host for the Warning header of a failed answer (default `address`). */
  warnAgent?: string;
}

/** Why an offer could not be answered; the SIP layer answers 488 with `warning` (RFC 3261 §20.43). */
export type AnswerFailureReason = 'no-common-codec' | 'no-audio-stream' | 'incompatible-transport';

export type AnswerResult =
  | { ok: true; answer: SessionDescription; media: NegotiatedMedia }
  | { ok: false; reason: AnswerFailureReason; warning: string };

/** A codec agreed for the stream. */
export interface NegotiatedCodec {
  payloadType: number;
  codec: AudioCodecName;
}

/** The agreed audio stream, from the local point of view. */
export interface NegotiatedMedia {
  /** Index of the m= line carrying it. */
  mediaIndex: number;
  remoteAddress: string;
  remotePort: number;
  remoteRtcpAddress: string;
  remoteRtcpPort: number;
  /** Payload type and codec to send (the first agreed codec of the answer). */
  payloadType: number;
  codec: AudioCodecName;
  /** Every agreed codec: the peer may switch between them, so all are accepted on receive. */
  codecs: NegotiatedCodec[];
  /** RFC 4733 payload type, or null when telephone-event was not agreed. */
  telephoneEventPt: number | null;
  /** Packetisation time the peer asked for (its a=ptime), default 20 ms. */
  ptime: number;
  /** Our direction: whether we send and/or receive. */
  direction: SdpDirection;
  rtcpMux: boolean;
  /** The peer put the stream on hold (it does not want our media, or uses c=0.0.0.0). */
  remoteHold: boolean;
}

export type NegotiationResult = { ok: true; media: NegotiatedMedia } | { ok: false; reason: AnswerFailureReason };

/** RTP profiles we can speak (no SRTP/DTLS). RTP/AVPF is answered in kind; we simply send no feedback. */
const PLAIN_RTP_PROTOS: ReadonlySet<string> = new Set(['RTP/AVP', 'RTP/AVPF']);

const WARNINGS: Readonly<Record<AnswerFailureReason, string>> = {
  'no-common-codec': '305 %s "Incompatible media format"',
  'no-audio-stream': '304 %s "Media type not available"',
  'incompatible-transport': '302 %s "Incompatible transport protocol"',
};

function warning(reason: AnswerFailureReason, host: string): string {
  return WARNINGS[reason].replace('%s', host);
}

function connectionFor(address: string): SdpConnection {
  return { netType: 'IN', addrType: address.includes(':') ? 'IP6' : 'IP4', address };
}

function defaultOrigin(address: string): SdpOrigin {
  const id = String(Math.floor(Date.now() / 1000));
  return { username: '-', sessionId: id, sessionVersion: id, netType: 'IN', addrType: address.includes(':') ? 'IP6' : 'IP4', address };
}

function isNullAddress(c: SdpConnection | undefined): boolean {
  return c !== undefined && (c.address === '0.0.0.0' || c.address === '::');
}

function sends(d: SdpDirection): boolean {
  return d === 'sendrecv' || d === 'sendonly';
}

function receives(d: SdpDirection): boolean {
  return d === 'sendrecv' || d === 'recvonly';
}

function makeDirection(send: boolean, recv: boolean): SdpDirection {
  return send ? (recv ? 'sendrecv' : 'sendonly') : recv ? 'recvonly' : 'inactive';
}

/** The direction seen from the other side: sendonly <-> recvonly (RFC 3264 §6.1). */
export function mirrorDirection(d: SdpDirection): SdpDirection {
  return makeDirection(receives(d), sends(d));
}

/**
 * The direction a description declares for media section `m`: media level, else session level, else sendrecv
 * (RFC 8866 §6.7). A c= address of 0.0.0.0 is the RFC 2543 way of saying "do not send to me" (old-style hold,
 * RFC 3264 §8.4), so it removes the receive half.
 */
export function effectiveDirection(sdp: SessionDescription, m: SdpMedia): SdpDirection {
  const d = m.direction ?? sdp.direction ?? 'sendrecv';
  if (isNullAddress(m.connection ?? sdp.connection)) return makeDirection(sends(d), false);
  return d;
}

function rejectMedia(m: SdpMedia): SdpMedia {
  // RFC 3264 §6: a rejected stream keeps its m= line with port 0; the formats are ignored but one is required.
  return createMedia(m.media, 0, m.proto, m.formats.length > 0 ? [...m.formats] : ['0']);
}

function baseDescription(local: LocalMediaOptions): SessionDescription {
  return {
    version: 0,
    origin: local.origin ? { ...local.origin } : defaultOrigin(local.address),
    sessionName: local.sessionName ?? '-',
    emails: [],
    phones: [],
    connection: connectionFor(local.address),
    bandwidths: [],
    timings: [{ start: '0', stop: '0', repeats: [] }],
    extra: [],
    media: [],
  };
}

/**
 * Answer an offer (RFC 3264 §6): same number and order of m= lines; the first usable audio stream is accepted
 * with PCMU/PCMA in the OFFERER's preference order (at the offered payload types, static or dynamic) plus
 * telephone-event at the offered payload type; every other stream is rejected with port 0. Directions mirror
 * the offer (hold), intersected with ours.
 */
export function createAnswer(offer: SessionDescription, local: LocalMediaOptions): AnswerResult {
  const supported = local.codecs ?? DEFAULT_CODECS;
  const host = local.warnAgent ?? local.address;
  const answer = baseDescription(local);
  let accepted: NegotiatedMedia | null = null;
  let sawAudio = false;
  let sawPlainAudio = false;
  offer.media.forEach((m, index) => {
    const isAudio = m.media.toLowerCase() === 'audio';
    if (isAudio && m.port !== 0) sawAudio = true;
    if (accepted || !isAudio || m.port === 0 || !PLAIN_RTP_PROTOS.has(m.proto.toUpperCase())) {
      answer.media.push(rejectMedia(m));
      return;
    }
    sawPlainAudio = true;
    const codecs: NegotiatedCodec[] = [];
    for (const f of m.formats) {
      const codec = audioCodecOf(m, f);
      if (codec && supported.includes(codec) && !codecs.some((c) => c.codec === codec)) codecs.push({ payloadType: Number(f), codec });
    }
    if (codecs.length === 0) {
      answer.media.push(rejectMedia(m));
      return;
    }
    const tePt = local.telephoneEvent === false ? undefined : telephoneEventPt(m);
    const offered = effectiveDirection(offer, m);
    const wanted = local.direction ?? 'sendrecv';
    const direction = makeDirection(receives(offered) && sends(wanted), sends(offered) && receives(wanted));
    const ours = createMedia('audio', local.port, m.proto, codecs.map((c) => String(c.payloadType)));
    ours.rtpmaps = codecs.map((c) => codecRtpmap(c.payloadType, c.codec));
    if (tePt !== undefined) {
      ours.formats.push(String(tePt));
      ours.rtpmaps.push({ payloadType: tePt, encoding: 'telephone-event', clockRate: 8000 });
      const fmtp = m.fmtps.find((f) => f.payloadType === tePt);
      ours.fmtps.push({ payloadType: tePt, params: intersectEvents(fmtp?.params) });
    }
    ours.ptime = local.ptime ?? 20;
    ours.direction = direction;
    const rtcpMux = m.rtcpMux && local.rtcpMux === true;
    ours.rtcpMux = rtcpMux;
    answer.media.push(ours);
    accepted = describeRemote(offer, m, index, codecs, tePt ?? null, direction, rtcpMux);
  });
  if (!accepted) {
    const reason: AnswerFailureReason = !sawAudio ? 'no-audio-stream' : sawPlainAudio ? 'no-common-codec' : 'incompatible-transport';
    return { ok: false, reason, warning: warning(reason, host) };
  }
  return { ok: true, answer, media: accepted };
}

function describeRemote(
  remote: SessionDescription,
  m: SdpMedia,
  index: number,
  codecs: NegotiatedCodec[],
  tePt: number | null,
  direction: SdpDirection,
  rtcpMux: boolean,
): NegotiatedMedia {
  const conn = m.connection ?? remote.connection;
  const address = conn ? conn.address : '0.0.0.0';
  let rtcpAddress = address;
  let rtcpPort = m.port + 1;
  if (rtcpMux) {
    rtcpPort = m.port;
  } else if (m.rtcp) {
    // RFC 3605 §2.1: a=rtcp gives the port, and optionally the address, of the RTCP stream.
    rtcpPort = m.rtcp.port;
    if (m.rtcp.connection) rtcpAddress = m.rtcp.connection.address;
  }
  const remoteDirection = effectiveDirection(remote, m);
  return {
    mediaIndex: index,
    remoteAddress: address,
    remotePort: m.port,
    remoteRtcpAddress: rtcpAddress,
    remoteRtcpPort: rtcpPort,
    payloadType: codecs[0].payloadType,
    codec: codecs[0].codec,
    codecs,
    telephoneEventPt: tePt,
    ptime: m.ptime ?? 20,
    direction,
    rtcpMux,
    remoteHold: !receives(remoteDirection),
  };
}

/** An offer with one audio stream: our codecs in our order, telephone-event, ptime, direction (RFC 3264 §5). */
export function createOffer(local: LocalMediaOptions): SessionDescription {
  const offer = baseDescription(local);
  const codecs = local.codecs ?? DEFAULT_CODECS;
  if (codecs.length === 0) throw new TypeError('createOffer needs at least one codec');
  const m = createMedia('audio', local.port, 'RTP/AVP', codecs.map((c) => String(STATIC_PAYLOAD_TYPES[c])));
  m.rtpmaps = codecs.map((c) => codecRtpmap(STATIC_PAYLOAD_TYPES[c], c));
  if (local.telephoneEvent !== false) {
    const pt = local.telephoneEventPt ?? DEFAULT_TELEPHONE_EVENT_PT;
    if (pt < 96 || pt > 127) throw new TypeError(`telephone-event needs a dynamic payload type, got ${pt}`);
    m.formats.push(String(pt));
    m.rtpmaps.push({ payloadType: pt, encoding: 'telephone-event', clockRate: 8000 });
    m.fmtps.push({ payloadType: pt, params: TELEPHONE_EVENT_FMTP });
  }
  m.ptime = local.ptime ?? 20;
  m.direction = local.direction ?? 'sendrecv';
  m.rtcpMux = local.rtcpMux === true;
  offer.media.push(m);
  return offer;
}

/**
 * The agreed stream after an offer/answer exchange, seen from `localRole`'s side: where to send RTP and RTCP
 * (the other party's description), which payload type to send, the telephone-event PT, ptime, our direction.
 */
export function negotiatedMedia(offer: SessionDescription, answer: SessionDescription, localRole: 'offerer' | 'answerer'): NegotiationResult {
  let sawAudio = false;
  for (let i = 0; i < answer.media.length && i < offer.media.length; i++) {
    const am = answer.media[i];
    const om = offer.media[i];
    if (am.media.toLowerCase() !== 'audio' || om.media.toLowerCase() !== 'audio' || am.port === 0 || om.port === 0) continue;
    sawAudio = true;
    const codecs: NegotiatedCodec[] = [];
    for (const f of am.formats) {
      const codec = audioCodecOf(am, f);
      // RFC 3264 §6.1: the answer uses the offer's payload type numbers; require the format in both.
      if (codec && om.formats.includes(f) && audioCodecOf(om, f) === codec && !codecs.some((c) => c.codec === codec)) {
        codecs.push({ payloadType: Number(f), codec });
      }
    }
    if (codecs.length === 0) continue;
    const ate = telephoneEventPt(am);
    const tePt = ate !== undefined && telephoneEventPt(om) === ate ? ate : null;
    const answered = effectiveDirection(answer, am);
    const offered = effectiveDirection(offer, om);
    // The answerer's declared direction is its own; the offerer's is the mirror of it, bounded by its offer.
    const direction =
      localRole === 'answerer' ? answered : makeDirection(sends(offered) && receives(answered), receives(offered) && sends(answered));
    const rtcpMux = am.rtcpMux && om.rtcpMux;
    const remote = localRole === 'answerer' ? offer : answer;
    return { ok: true, media: describeRemote(remote, remote.media[i], i, codecs, tePt, direction, rtcpMux) };
  }
  return { ok: false, reason: sawAudio ? 'no-common-codec' : 'no-audio-stream' };
}
