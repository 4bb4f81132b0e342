/** The SDP data model (RFC 8866 §5). Known fields are typed; everything else is kept in order as raw lines. */

/** Media direction attribute (RFC 8866 §6.7, RFC 3264 §5.1). */
export type SdpDirection = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

/** o= (RFC 8866 §5.2). Session id and version are digit strings: they may exceed 2^53. */
export interface SdpOrigin {
  username: string;
  sessionId: string;
  sessionVersion: string;
  netType: string;
  addrType: string;
  address: string;
}

/** c= (RFC 8866 §5.7). `ttl`/`count` only appear with multicast addresses. */
export interface SdpConnection {
  netType: string;
  addrType: string;
  address: string;
  ttl?: number;
  count?: number;
}

/** b= (RFC 8866 §5.8). */
export interface SdpBandwidth {
  type: string;
  value: number;
}

/** t= with its r= lines (RFC 8866 §5.9, §5.10). */
export interface SdpTiming {
  start: string;
  stop: string;
  repeats: string[];
}

/** a=rtpmap (RFC 8866 §6.6). */
export interface SdpRtpmap {
  payloadType: number;
  encoding: string;
  clockRate: number;
  channels?: number;
}

/** a=fmtp (RFC 8866 §6.15); parameters are opaque to SDP. */
export interface SdpFmtp {
  payloadType: number;
  params: string;
}

/** a=rtcp (RFC 3605). */
export interface SdpRtcp {
  port: number;
  connection?: SdpConnection;
}

/** A line this model does not interpret: an unknown attribute (`type` 'a') or another line type. */
export interface SdpLine {
  type: string;
  value: string;
}

/** m= section (RFC 8866 §5.14). */
export interface SdpMedia {
  /** audio, video, application, ... */
  media: string;
  port: number;
  /** Number of ports ("m=audio 49170/2 ..."), when given. */
  portCount?: number;
  /** RTP/AVP, RTP/SAVP, UDP/TLS/RTP/SAVPF, ... */
  proto: string;
  /** Format list as written (payload type numbers for RTP profiles). */
  formats: string[];
  /** i= */
  title?: string;
  connection?: SdpConnection;
  bandwidths: SdpBandwidth[];
  /** k= (obsolete, kept) */
  key?: string;
  rtpmaps: SdpRtpmap[];
  fmtps: SdpFmtp[];
  ptime?: number;
  maxptime?: number;
  direction?: SdpDirection;
  rtcp?: SdpRtcp;
  rtcpMux: boolean;
  /** Other attributes and lines, in order. */
  extra: SdpLine[];
}

/** A whole session description. */
export interface SessionDescription {
  version: number;
  origin: SdpOrigin;
  sessionName: string;
  /** i= */
  info?: string;
  /** u= */
  uri?: string;
  /** e= and p= lines */
  emails: string[];
  phones: string[];
  connection?: SdpConnection;
  bandwidths: SdpBandwidth[];
  timings: SdpTiming[];
  /** z= */
  zone?: string;
  /** k= */
  key?: string;
  /** Session-level direction, the default for media without one (RFC 8866 §6.7). */
  direction?: SdpDirection;
  /** Other session-level attributes and lines, in order. */
  extra: SdpLine[];
  media: SdpMedia[];
}

/** A new empty media section. */
export function createMedia(media: string, port: number, proto: string, formats: string[]): SdpMedia {
  return { media, port, proto, formats, bandwidths: [], rtpmaps: [], fmtps: [], rtcpMux: false, extra: [] };
}
