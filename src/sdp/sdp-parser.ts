import {
  SdpBandwidth,
  SdpConnection,
  SdpDirection,
  SdpFmtp,
  SdpMedia,
  SdpOrigin,
  SdpRtcp,
  SdpRtpmap,
  SessionDescription,
} from './sdp-types';

/** Largest SDP body accepted (a SIP body over UDP is far smaller; this bounds the work per message). */
export const SDP_MAX_SIZE = 65_536;
/** Most m= sections accepted. */
export const SDP_MAX_MEDIA = 64;

export type SdpParseErrorCode =
  | 'SDP_TOO_LARGE'
  | 'SDP_EMPTY'
  | 'SDP_BAD_LINE'
  | 'SDP_BAD_VERSION'
  | 'SDP_MISSING_ORIGIN'
  | 'SDP_BAD_ORIGIN'
  | 'SDP_BAD_CONNECTION'
  | 'SDP_MISSING_CONNECTION'
  | 'SDP_BAD_BANDWIDTH'
  | 'SDP_BAD_TIMING'
  | 'SDP_BAD_MEDIA'
  | 'SDP_TOO_MANY_MEDIA'
  | 'SDP_BAD_ATTRIBUTE';

/** Why an SDP body was rejected, with the 1-based line number (0 for the whole body). */
export interface SdpParseError {
  code: SdpParseErrorCode;
  line: number;
  message: string;
}

export type SdpParseResult = { ok: true; sdp: SessionDescription } | { ok: false; error: SdpParseError };

class SdpSyntaxError {
  constructor(
    readonly code: SdpParseErrorCode,
    readonly message: string,
  ) {}
}

const DIRECTIONS: ReadonlySet<string> = new Set(['sendrecv', 'sendonly', 'recvonly', 'inactive']);
const TOKEN = /^[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+$/;
const DIGITS = /^[0-9]+$/;

function isPort(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 65535;
}

function parseIntStrict(s: string): number {
  return DIGITS.test(s) ? Number(s) : Number.NaN;
}

/** c=<nettype> <addrtype> <connection-address> (RFC 8866 §5.7), with multicast /ttl/count suffixes. */
export function parseConnection(value: string): SdpConnection | null {
  const parts = value.split(' ');
  if (parts.length !== 3 || !TOKEN.test(parts[0]) || !TOKEN.test(parts[1]) || parts[2] === '') return null;
  const [address, ...suffix] = parts[2].split('/');
  if (address === '' || suffix.length > 2) return null;
  const conn: SdpConnection = { netType: parts[0], addrType: parts[1], address };
  if (suffix.length > 0) {
    const a = parseIntStrict(suffix[0]);
    if (Number.isNaN(a)) return null;
    // IPv4 multicast carries a TTL first (RFC 8866 §5.7); IPv6 has only the count.
    if (parts[1].toUpperCase() === 'IP6') {
      if (suffix.length > 1) return null;
      conn.count = a;
    } else {
      conn.ttl = a;
      if (suffix.length > 1) {
        const c = parseIntStrict(suffix[1]);
        if (Number.isNaN(c)) return null;
        conn.count = c;
      }
    }
  }
  return conn;
}

function parseOrigin(value: string): SdpOrigin {
  const p = value.split(' ');
  if (p.length !== 6 || p.some((x) => x === '') || !DIGITS.test(p[1]) || !DIGITS.test(p[2])) {
    throw new SdpSyntaxError('SDP_BAD_ORIGIN', 'o= needs <username> <sess-id> <sess-version> <nettype> <addrtype> <address>');
  }
  return { username: p[0], sessionId: p[1], sessionVersion: p[2], netType: p[3], addrType: p[4], address: p[5] };
}

function parseBandwidth(value: string): SdpBandwidth {
  const i = value.indexOf(':');
  const type = value.slice(0, i);
  const n = parseIntStrict(value.slice(i + 1));
  if (i <= 0 || !TOKEN.test(type) || Number.isNaN(n)) throw new SdpSyntaxError('SDP_BAD_BANDWIDTH', 'b= needs <bwtype>:<bandwidth>');
  return { type, value: n };
}

function parseMediaLine(value: string): SdpMedia {
  const p = value.split(' ');
  if (p.length < 4 || p.some((x) => x === '')) throw new SdpSyntaxError('SDP_BAD_MEDIA', 'm= needs <media> <port> <proto> <fmt> ...');
  const [portStr, countStr] = p[1].split('/');
  const port = parseIntStrict(portStr);
  const count = countStr === undefined ? undefined : parseIntStrict(countStr);
  if (!isPort(port) || (count !== undefined && (Number.isNaN(count) || count < 1)) || p[1].split('/').length > 2) {
    throw new SdpSyntaxError('SDP_BAD_MEDIA', `bad port in m= line: ${p[1]}`);
  }
  if (!TOKEN.test(p[0])) throw new SdpSyntaxError('SDP_BAD_MEDIA', `bad media type: ${p[0]}`);
  const media: SdpMedia = {
    media: p[0],
    port,
    proto: p[2],
    formats: p.slice(3),
    bandwidths: [],
    rtpmaps: [],
    fmtps: [],
    rtcpMux: false,
    extra: [],
  };
  if (count !== undefined) media.portCount = count;
  return media;
}

function parsePayloadType(s: string): number {
  const pt = parseIntStrict(s);
  if (Number.isNaN(pt) || pt > 127) throw new SdpSyntaxError('SDP_BAD_ATTRIBUTE', `bad payload type: ${s}`);
  return pt;
}

/** a=rtpmap:<payload type> <encoding name>/<clock rate>[/<encoding parameters>] (RFC 8866 §6.6). */
function parseRtpmap(value: string): SdpRtpmap {
  const sp = value.indexOf(' ');
  if (sp < 0) throw new SdpSyntaxError('SDP_BAD_ATTRIBUTE', 'a=rtpmap needs <pt> <encoding>/<clock rate>');
  const payloadType = parsePayloadType(value.slice(0, sp));
  const enc = value.slice(sp + 1).trim().split('/');
  const clockRate = parseIntStrict(enc[1] ?? '');
  if (enc.length < 2 || enc.length > 3 || enc[0] === '' || Number.isNaN(clockRate) || clockRate === 0) {
    throw new SdpSyntaxError('SDP_BAD_ATTRIBUTE', `bad a=rtpmap: ${value}`);
  }
  const map: SdpRtpmap = { payloadType, encoding: enc[0], clockRate };
  if (enc.length === 3) {
    const ch = parseIntStrict(enc[2]);
    if (Number.isNaN(ch) || ch === 0) throw new SdpSyntaxError('SDP_BAD_ATTRIBUTE', `bad channel count in a=rtpmap: ${value}`);
    map.channels = ch;
  }
  return map;
}

function parseFmtp(value: string): SdpFmtp {
  const sp = value.indexOf(' ');
  const pt = sp < 0 ? value : value.slice(0, sp);
  return { payloadType: parsePayloadType(pt), params: sp < 0 ? '' : value.slice(sp + 1).trim() };
}

/** a=ptime / a=maxptime in milliseconds; fractional values occur in the wild ("20.0"). */
function parseMs(name: string, value: string): number {
  const n = /^[0-9]+(\.[0-9]+)?$/.test(value) ? Number(value) : Number.NaN;
  if (!(n > 0) || n > 10_000) throw new SdpSyntaxError('SDP_BAD_ATTRIBUTE', `bad a=${name}: ${value}`);
  return n;
}

/** a=rtcp:<port> [<nettype> <addrtype> <connection-address>] (RFC 3605 §2.1). */
function parseRtcp(value: string): SdpRtcp {
  const sp = value.indexOf(' ');
  const port = parseIntStrict(sp < 0 ? value : value.slice(0, sp));
  if (!isPort(port)) throw new SdpSyntaxError('SDP_BAD_ATTRIBUTE', `bad a=rtcp port: ${value}`);
  if (sp < 0) return { port };
  const connection = parseConnection(value.slice(sp + 1).trim());
  if (!connection) throw new SdpSyntaxError('SDP_BAD_ATTRIBUTE', `bad a=rtcp address: ${value}`);
  return { port, connection };
}

function emptySession(): SessionDescription {
  return {
    version: 0,
    origin: { username: '-', sessionId: '0', sessionVersion: '0', netType: 'IN', addrType: 'IP4', address: '0.0.0.0' },
    sessionName: '-',
    emails: [],
    phones: [],
    bandwidths: [],
    timings: [],
    extra: [],
    media: [],
  };
}

/** Apply an a= line at session level. */
function sessionAttribute(sdp: SessionDescription, name: string, value: string | undefined, raw: string): void {
  if (value === undefined && DIRECTIONS.has(name)) sdp.direction = name as SdpDirection;
  else sdp.extra.push({ type: 'a', value: raw });
}

/** Apply an a= line at media level. */
function mediaAttribute(m: SdpMedia, name: string, value: string | undefined, raw: string): void {
  if (value === undefined) {
    if (DIRECTIONS.has(name)) m.direction = name as SdpDirection;
    else if (name === 'rtcp-mux') m.rtcpMux = true;
    else m.extra.push({ type: 'a', value: raw });
    return;
  }
  switch (name) {
    case 'rtpmap':
      m.rtpmaps.push(parseRtpmap(value));
      return;
    case 'fmtp':
      m.fmtps.push(parseFmtp(value));
      return;
    case 'ptime':
      m.ptime = parseMs(name, value);
      return;
    case 'maxptime':
      m.maxptime = parseMs(name, value);
      return;
    case 'rtcp':
      m.rtcp = parseRtcp(value);
      return;
    default:
      m.extra.push({ type: 'a', value: raw });
  }
}

function parseLines(text: string): SessionDescription {
  const lines = text.split('\n');
  const sdp = emptySession();
  let media: SdpMedia | null = null;
  let sawOrigin = false;
  let sawVersion = false;
  for (let i = 0; i < lines.length; i++) {
    lineNo = i + 1;
    let line = lines[i];
    // RFC 8866 §5: lines end with CRLF, but parsers should also accept a bare LF.
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line === '') continue;
    if (line.length < 2 || line[1] !== '=') throw new SdpSyntaxError('SDP_BAD_LINE', `not a <type>=<value> line: ${line.slice(0, 40)}`);
    const type = line[0];
    const value = line.slice(2);
    if (!sawVersion) {
      // RFC 8866 §5: the description starts with v=0.
      if (type !== 'v' || value !== '0') throw new SdpSyntaxError('SDP_BAD_VERSION', 'SDP must start with v=0');
      sawVersion = true;
      continue;
    }
    if (type === 'm') {
      if (!sawOrigin) throw new SdpSyntaxError('SDP_MISSING_ORIGIN', 'o= must precede the media sections');
      if (sdp.media.length >= SDP_MAX_MEDIA) throw new SdpSyntaxError('SDP_TOO_MANY_MEDIA', `more than ${SDP_MAX_MEDIA} m= lines`);
      media = parseMediaLine(value);
      sdp.media.push(media);
      continue;
    }
    if (type === 'a') {
      const colon = value.indexOf(':');
      const name = (colon < 0 ? value : value.slice(0, colon)).toLowerCase();
      const attrValue = colon < 0 ? undefined : value.slice(colon + 1);
      if (media) mediaAttribute(media, name, attrValue, value);
      else sessionAttribute(sdp, name, attrValue, value);
      continue;
    }
    if (type === 'c' || type === 'b' || (type === 'i' && media) || (type === 'k' && media)) {
      const target: { connection?: SdpConnection; bandwidths: SdpBandwidth[]; title?: string; info?: string; key?: string } = media ?? sdp;
      if (type === 'c') {
        const conn = parseConnection(value);
        if (!conn) throw new SdpSyntaxError('SDP_BAD_CONNECTION', `bad c= line: ${value}`);
        target.connection = conn;
      } else if (type === 'b') {
        target.bandwidths.push(parseBandwidth(value));
      } else if (type === 'i' && media) {
        media.title = value;
      } else if (media) {
        media.key = value;
      }
      continue;
    }
    if (media) {
      // Session-level line types inside a media section are out of place; keep them rather than fail.
      media.extra.push({ type, value });
      continue;
    }
    switch (type) {
      case 'o':
        sdp.origin = parseOrigin(value);
        sawOrigin = true;
        break;
      case 's':
        sdp.sessionName = value;
        break;
      case 'i':
        sdp.info = value;
        break;
      case 'u':
        sdp.uri = value;
        break;
      case 'e':
        sdp.emails.push(value);
        break;
      case 'p':
        sdp.phones.push(value);
        break;
      case 't': {
        const p = value.split(' ');
        if (p.length !== 2 || !DIGITS.test(p[0]) || !DIGITS.test(p[1])) throw new SdpSyntaxError('SDP_BAD_TIMING', `bad t= line: ${value}`);
        sdp.timings.push({ start: p[0], stop: p[1], repeats: [] });
        break;
      }
      case 'r': {
        const last = sdp.timings[sdp.timings.length - 1];
        if (!last) throw new SdpSyntaxError('SDP_BAD_TIMING', 'r= without a preceding t=');
        last.repeats.push(value);
        break;
      }
      case 'z':
        sdp.zone = value;
        break;
      case 'k':
        sdp.key = value;
        break;
      case 'v':
        throw new SdpSyntaxError('SDP_BAD_VERSION', 'v= repeated');
      default:
        sdp.extra.push({ type, value });
    }
  }
  lineNo = 0;
  if (!sawVersion) throw new SdpSyntaxError('SDP_EMPTY', 'empty SDP');
  if (!sawOrigin) throw new SdpSyntaxError('SDP_MISSING_ORIGIN', 'no o= line');
  // s= and t= are mandatory in RFC 8866 but some endpoints omit them; the defaults ("-", "0 0") are harmless.
  if (sdp.timings.length === 0) sdp.timings.push({ start: '0', stop: '0', repeats: [] });
  // RFC 8866 §5.7: every active media stream needs a connection address, at session or media level.
  if (!sdp.connection) {
    for (const m of sdp.media) {
      if (m.port !== 0 && !m.connection) throw new SdpSyntaxError('SDP_MISSING_CONNECTION', `m=${m.media} has no c= line`);
    }
  }
  return sdp;
}

// Line number of the line being parsed, for error reports (the parser is synchronous).
let lineNo = 0;

/** Parse an SDP body (RFC 8866). Never throws: malformed input gives `{ ok: false, error }`. */
export function parseSdp(input: string | Buffer): SdpParseResult {
  lineNo = 0;
  try {
    if (input.length > SDP_MAX_SIZE) return { ok: false, error: { code: 'SDP_TOO_LARGE', line: 0, message: `SDP larger than ${SDP_MAX_SIZE} bytes` } };
    const text = typeof input === 'string' ? input : input.toString('utf8');
    if (text.trim() === '') return { ok: false, error: { code: 'SDP_EMPTY', line: 0, message: 'empty SDP' } };
    return { ok: true, sdp: parseLines(text) };
  } catch (err) {
    if (err instanceof SdpSyntaxError) return { ok: false, error: { code: err.code, line: lineNo, message: err.message } };
    return { ok: false, error: { code: 'SDP_BAD_LINE', line: lineNo, message: err instanceof Error ? err.message : String(err) } };
  }
}
