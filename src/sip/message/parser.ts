/**
 * SIP message parser (RFC 3261 §7, §25). One pass over the Buffer finds the start line and the header
 * boundaries; only names and the essential headers are decoded here. Everything else stays as byte offsets
 * until accessed (see message.ts).
 *
 *   start-line CRLF
 *   *( header-name HCOLON header-value CRLF  [continuation lines starting with SP/HT] )
 *   CRLF
 *   body (Content-Length octets; on a datagram, the rest when absent)
 *
 * Network input never throws out of here: every failure is a SipParseError in the result.
 */
import { isAscii } from 'node:buffer';
import { CH_COLON, CH_CR, CH_HT, CH_LF, CH_SP, TOKEN } from './char-class';
import { SipParseError, SipParseErrorCode } from './errors';
import type { SipParseErrorCodeValue } from './errors';
import { headerKey, matchKnownHeaderAt } from './header-names';
import { splitTopLevel } from './lexer';
import { HeaderField, SipRequest, SipResponse } from './message';
import { checkNameAddr } from './name-addr';
import type { NameAddrCheck } from './name-addr';
import { isValidCallIdAt, parseCSeq, parseContentLengthAt, parseMaxForwardsAt } from './scalar-headers';
import { URI_INVALID, URI_VALID_WITH_HEADERS, checkUri } from './uri';
import { checkVia, parseVia } from './via';
import type { ViaCheck } from './via';

export interface ParseOptions {
  /**
   * RFC 3261 §18.3: the buffer is one datagram (UDP). Bytes past Content-Length are dropped, a Content-Length
   * larger than the datagram is an error, and without Content-Length the body is the rest of the datagram.
   * When false (stream transports) Content-Length is mandatory and a short body is SIP_PARSE_INCOMPLETE.
   */
  datagram?: boolean;
  /** Largest accepted message, bytes. Default 65536. */
  maxSize?: number;
  /** Largest number of header fields. Default 256. */
  maxHeaders?: number;
  /** Longest physical line, bytes. Default 8192. */
  maxLineLength?: number;
}

export const DEFAULT_MAX_MESSAGE_SIZE = 65536;
export const DEFAULT_MAX_HEADERS = 256;
export const DEFAULT_MAX_LINE_LENGTH = 8192;

export type ParseResult = { ok: true; msg: SipRequest | SipResponse } | { ok: false; error: SipParseError };

const E = SipParseErrorCode;

/** Parses one SIP message from `buf`. Never throws. */
export function parseMessage(buf: Buffer, opts?: ParseOptions): ParseResult {
  try {
    return parse(buf, opts);
  } catch (e) {
    return fail(E.INTERNAL, `internal parser failure: ${e instanceof Error ? e.message : String(e)}`, 0);
  }
}

function fail(code: SipParseErrorCodeValue, message: string, offset: number, header?: string): ParseResult {
  return { ok: false, error: new SipParseError(code, message, offset, header) };
}

/** Index after "SIP/" 1*DIGIT "." 1*DIGIT starting at i (case-insensitive "SIP"), or -1. */
function versionEnd(s: string, i: number, end: number): number {
  if (end - i < 7) return -1;
  if (
    (s.charCodeAt(i) | 0x20) !== 0x73 ||
    (s.charCodeAt(i + 1) | 0x20) !== 0x69 ||
    (s.charCodeAt(i + 2) | 0x20) !== 0x70 ||
    s.charCodeAt(i + 3) !== 0x2f
  ) {
    return -1;
  }
  let j = i + 4;
  const d1 = j;
  while (j < end && isDigit(s.charCodeAt(j))) j++;
  if (j === d1 || j >= end || s.charCodeAt(j) !== 46) return -1;
  j++;
  const d2 = j;
  while (j < end && isDigit(s.charCodeAt(j))) j++;
  return j === d2 ? -1 : j;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** True when buf[i, i+7) is exactly SIP/2.0 (the "SIP" literal is case-insensitive per RFC 2234 §2.3). */
function isV20(s: string, i: number, end: number): boolean {
  return end - i === 7 && s.charCodeAt(i + 4) === 50 && s.charCodeAt(i + 5) === 46 && s.charCodeAt(i + 6) === 48;
}

function isWsByte(c: number): boolean {
  return c === CH_SP || c === CH_HT;
}

function parse(buf: Buffer, opts: ParseOptions | undefined): ParseResult {
  const len = buf.length;
  const maxSize = opts?.maxSize ?? DEFAULT_MAX_MESSAGE_SIZE;
  const maxHeaders = opts?.maxHeaders ?? DEFAULT_MAX_HEADERS;
  const maxLine = opts?.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH;
  const datagram = opts?.datagram === true;

  if (len > maxSize) return fail(E.TOO_LARGE, `message of ${len} bytes exceeds the ${maxSize}-byte limit`, maxSize);
  // One latin1 decode of the datagram: scanning a string is as fast as the Buffer and slicing it is cheap.
  // Byte offsets and string indexes coincide (latin1 maps each byte to one code unit).
  const s = buf.toString('latin1');
  let pos = 0;
  // RFC 3261 §7.5: CRLFs before the start-line are ignored.
  while (pos < len && (s.charCodeAt(pos) === CH_CR || s.charCodeAt(pos) === CH_LF)) pos++;
  if (pos >= len) return fail(E.EMPTY, 'no message: empty or only line breaks', pos);
  const rawStart = pos;

  // ---- start line ----
  let nl = s.indexOf('\n', pos);
  if (nl < 0) {
    if (len - pos > maxLine) return fail(E.LINE_TOO_LONG, `start line longer than ${maxLine} bytes`, pos);
    return fail(E.INCOMPLETE, 'start line not terminated', len);
  }
  let le = nl > pos && s.charCodeAt(nl - 1) === CH_CR ? nl - 1 : nl;
  if (le - pos > maxLine) return fail(E.LINE_TOO_LONG, `start line longer than ${maxLine} bytes`, pos);

  let isRequest: boolean;
  let method = '';
  let uriText = '';
  let status = 0;
  let reason = '';
  // A request-line fault does not stop parsing: the rest may still allow a 400 (DESIGN.md "bad input").
  let startError: SipParseError | undefined;

  const vEnd = versionEnd(s, pos, le);
  if (vEnd > 0 && vEnd < le + 1 && (vEnd === le || s.charCodeAt(vEnd) === CH_SP)) {
    // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase (RFC 3261 §7.2)
    isRequest = false;
    if (!isV20(s, pos, vEnd)) return fail(E.BAD_VERSION, 'unsupported SIP version', pos);
    const sc = vEnd + 1;
    if (
      le - sc < 3 ||
      s.charCodeAt(sc) < 49 || s.charCodeAt(sc) > 54 ||
      s.charCodeAt(sc + 1) < 48 || s.charCodeAt(sc + 1) > 57 ||
      s.charCodeAt(sc + 2) < 48 || s.charCodeAt(sc + 2) > 57 ||
      (sc + 3 < le && s.charCodeAt(sc + 3) !== CH_SP)
    ) {
      return fail(E.BAD_START_LINE, 'malformed Status-Line: Status-Code must be 3 digits 100-699', sc);
    }
    status = (s.charCodeAt(sc) - 48) * 100 + (s.charCodeAt(sc + 1) - 48) * 10 + (s.charCodeAt(sc + 2) - 48);
    // Reason-Phrase is TEXT-UTF8; an absent SP + reason is tolerated (RFC 4475 §3.1.1.13 sends "100 ").
    reason = sc + 4 <= le ? buf.toString('utf8', sc + 4, le) : '';
  } else {
    // Request-Line = Method SP Request-URI SP SIP-Version CRLF (RFC 3261 §7.1): exactly one SP between elements.
    let i = pos;
    while (i < le && TOKEN[s.charCodeAt(i) & 0xff] === 1) i++;
    if (i === pos || i >= le || s.charCodeAt(i) !== CH_SP) {
      return fail(E.BAD_START_LINE, 'start line is neither a Request-Line nor a Status-Line', pos);
    }
    isRequest = true;
    method = s.slice(pos, i);
    const us = i + 1;
    let ue = us;
    while (ue < le && s.charCodeAt(ue) !== CH_SP) ue++;
    uriText = s.slice(us, ue);
    const ve = ue < le ? versionEnd(s, ue + 1, le) : -1;
    if (ue === us || ue >= le || ve !== le) {
      startError = new SipParseError(E.BAD_START_LINE, 'malformed Request-Line', ue === us ? us : ue);
    } else if (!isV20(s, ue + 1, le)) {
      startError = new SipParseError(E.BAD_VERSION, 'unsupported SIP version', ue + 1);
    } else {
      // Validated here, built on first access to `uri` (most requests are routed on headers alone).
      const verdict = checkUri(s, us, ue);
      if (verdict === URI_INVALID) {
        startError = new SipParseError(E.BAD_REQUEST_URI, 'malformed Request-URI', us);
      } else if (verdict === URI_VALID_WITH_HEADERS) {
        // RFC 3261 §19.1.1 (table 1): headers are not allowed in a Request-URI (RFC 4475 §3.1.2.11).
        startError = new SipParseError(E.BAD_REQUEST_URI, 'Request-URI carries URI headers', us);
      }
    }
  }

  // ---- header fields ----
  pos = nl + 1;
  const fields: HeaderField[] = [];
  let last: HeaderField | undefined;
  let bodyStart: number;
  for (;;) {
    if (pos >= len) return fail(E.INCOMPLETE, 'header section not terminated by an empty line', len);
    nl = s.indexOf('\n', pos);
    if (nl < 0) {
      if (len - pos > maxLine) return fail(E.LINE_TOO_LONG, `header line longer than ${maxLine} bytes`, pos);
      return fail(E.INCOMPLETE, 'header section not terminated by an empty line', len);
    }
    le = nl > pos && s.charCodeAt(nl - 1) === CH_CR ? nl - 1 : nl;
    if (le === pos) {
      bodyStart = nl + 1;
      break;
    }
    if (le - pos > maxLine) return fail(E.LINE_TOO_LONG, `header line longer than ${maxLine} bytes`, pos);
    const c0 = s.charCodeAt(pos);
    if (isWsByte(c0)) {
      // RFC 3261 §7.3.1: a line starting with whitespace continues the previous field (folding).
      if (last === undefined) return fail(E.BAD_HEADER, 'continuation line before any header', pos);
      let te = le;
      while (te > pos && isWsByte(s.charCodeAt(te - 1))) te--;
      if (te > pos) {
        last.end = te;
        last.folded = true;
      }
      pos = nl + 1;
      continue;
    }
    // Known names (any case, compact forms) resolve from the text; only unknown names are scanned, sliced and
    // lower-cased.
    const known = matchKnownHeaderAt(s, pos, le);
    let name: string;
    let key: string;
    let i: number;
    if (known !== undefined) {
      name = key = known;
      i = isWsByte(s.charCodeAt(pos + 1)) || s.charCodeAt(pos + 1) === CH_COLON ? pos + 1 : pos + known.length;
    } else {
      i = pos;
      while (i < le && TOKEN[s.charCodeAt(i) & 0xff] === 1) i++;
      name = key = '';
    }
    const ne = i;
    while (i < le && isWsByte(s.charCodeAt(i))) i++;
    if (ne === pos || i >= le || s.charCodeAt(i) !== CH_COLON) {
      // A broken Request-Line is the better diagnosis when both are wrong (e.g. RFC 4475's extra test.sip).
      if (startError !== undefined) return { ok: false, error: startError };
      return fail(E.BAD_HEADER, 'header line without a valid name and colon', pos);
    }
    i++;
    while (i < le && isWsByte(s.charCodeAt(i))) i++;
    let ve = le;
    while (ve > i && isWsByte(s.charCodeAt(ve - 1))) ve--;
    if (fields.length >= maxHeaders) return fail(E.TOO_MANY_HEADERS, `more than ${maxHeaders} header fields`, pos);
    if (known === undefined) {
      name = s.slice(pos, ne);
      key = headerKey(name);
    }
    last = new HeaderField(key, name, undefined, i, ve, false);
    fields.push(last);
    pos = nl + 1;
  }

  // ---- body framing (RFC 3261 §18.3, §20.14) ----
  let contentLength = -1;
  let clError: SipParseError | undefined;
  for (let k = 0; k < fields.length; k++) {
    const f = fields[k];
    if (f.key !== 'content-length') continue;
    const v = parseContentLengthAt(s, f.start, f.end);
    if (v < 0) {
      clError ??= new SipParseError(E.CONTENT_LENGTH, 'malformed Content-Length', f.start, 'Content-Length');
    } else if (contentLength >= 0 && v !== contentLength) {
      // RFC 4475 §3.3.9: conflicting values leave the body length unknowable.
      clError ??= new SipParseError(E.CONTENT_LENGTH, 'conflicting Content-Length values', f.start, 'Content-Length');
    } else contentLength = v;
  }
  const available = len - bodyStart;
  let bodyEnd = bodyStart;
  if (clError === undefined) {
    if (contentLength < 0) {
      if (datagram) bodyEnd = len;
      else clError = new SipParseError(E.MISSING_HEADER, 'Content-Length is mandatory on stream transports', bodyStart, 'Content-Length');
    } else if (contentLength > available) {
      clError = datagram
        ? new SipParseError(E.CONTENT_LENGTH, `Content-Length ${contentLength} exceeds the ${available} body bytes of the datagram`, bodyStart, 'Content-Length')
        : new SipParseError(E.INCOMPLETE, `body has ${available} of ${contentLength} bytes`, len, 'Content-Length');
    } else bodyEnd = bodyStart + contentLength;
  }
  // Values are latin1 slices of `s` when the header section is pure ASCII (the norm), else UTF-8 decodes. The whole
  // buffer is tested first (no view to allocate); only a non-ASCII body makes the header section be tested alone.
  const ascii = isAscii(buf) || isAscii(buf.subarray(rawStart, bodyStart));

  const msg: SipRequest | SipResponse = isRequest
    ? SipRequest._fromParsed(
        method,
        undefined,
        uriText,
        fields,
        bodyStart,
        buf,
        rawStart,
        bodyEnd,
      )
    : SipResponse._fromParsed(status, reason, fields, bodyStart, buf, rawStart, bodyEnd);
  if (ascii) msg._text = s;

  const error = startError ?? validate(msg, fields) ?? clError;
  if (error !== undefined) {
    if (msg instanceof SipRequest && hasReadableTopVia(msg, fields)) error.request = msg;
    return { ok: false, error };
  }
  return { ok: true, msg };
}

function hasReadableTopVia(msg: SipRequest, fields: HeaderField[]): boolean {
  for (const f of fields) {
    if (f.key === 'via') {
      // Only the top via-parm matters: the answer goes there (RFC 3261 §18.2.2), even if a later one is bad.
      const v = parseVia(splitTopLevel(msg._valueOf(f))[0]);
      return v !== undefined && v.length > 0;
    }
  }
  return false;
}

const RANGE = { start: 0, end: 0 };

/**
 * The string a field's value can be checked in, without slicing it: the message text with RANGE set to the value's
 * offsets, or (folded or non-ASCII header section) the decoded value with RANGE covering it.
 */
function textOf(msg: SipRequest | SipResponse, f: HeaderField): string {
  const text = msg._text;
  if (text !== undefined && !f.folded) {
    RANGE.start = f.start;
    RANGE.end = f.end;
    return text;
  }
  const v = msg._valueOf(f);
  RANGE.start = 0;
  RANGE.end = v.length;
  return v;
}

// Result slots of the essential-header checks, reused (the parser is synchronous and not re-entrant).
const VIA_CHECK: ViaCheck = { branch: undefined };
const NA_CHECK: NameAddrCheck = { tag: undefined };

/**
 * Checks the essential headers in a fixed order. Via, From and To are validated by scanners that accept exactly
 * what their full parsers accept but build nothing: only the top branch and the tags are kept, and the typed
 * values are built on first access. Call-ID, CSeq and Max-Forwards are cheap and cached at once.
 */
function validate(msg: SipRequest | SipResponse, fields: HeaderField[]): SipParseError | undefined {
  let from: HeaderField | undefined;
  let to: HeaderField | undefined;
  let callId: HeaderField | undefined;
  let cseq: HeaderField | undefined;
  let maxFwd: HeaderField | undefined;
  let dup: string | undefined;
  let dupOffset = 0;
  let sawVia = false;
  let topBranch: string | undefined;
  let viaError: SipParseError | undefined;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i];
    switch (f.key) {
      case 'via': {
        if (viaError !== undefined) break;
        const v = textOf(msg, f);
        if (!checkVia(v, RANGE.start, RANGE.end, sawVia ? undefined : VIA_CHECK)) {
          viaError = new SipParseError(E.BAD_HEADER, 'malformed Via', f.start, 'Via');
          break;
        }
        if (!sawVia) topBranch = VIA_CHECK.branch;
        sawVia = true;
        break;
      }
      case 'from':
        if (from !== undefined && dup === undefined) [dup, dupOffset] = ['From', f.start];
        from ??= f;
        break;
      case 'to':
        if (to !== undefined && dup === undefined) [dup, dupOffset] = ['To', f.start];
        to ??= f;
        break;
      case 'call-id':
        if (callId !== undefined && dup === undefined) [dup, dupOffset] = ['Call-ID', f.start];
        callId ??= f;
        break;
      case 'cseq':
        if (cseq !== undefined && dup === undefined) [dup, dupOffset] = ['CSeq', f.start];
        cseq ??= f;
        break;
      case 'max-forwards':
        if (msg.isRequest && maxFwd !== undefined && dup === undefined) [dup, dupOffset] = ['Max-Forwards', f.start];
        maxFwd ??= f;
        break;
      default:
        break;
    }
  }
  if (viaError !== undefined) return viaError;
  if (!sawVia) return new SipParseError(E.MISSING_HEADER, 'missing Via', 0, 'Via');
  msg._viaChecked = true;
  msg._topBranch = topBranch;

  // RFC 3261 §8.1.1: From, To, Call-ID, CSeq are mandatory; each appears once (RFC 4475 §3.3.8).
  if (from === undefined) return new SipParseError(E.MISSING_HEADER, 'missing From', 0, 'From');
  if (to === undefined) return new SipParseError(E.MISSING_HEADER, 'missing To', 0, 'To');
  if (callId === undefined) return new SipParseError(E.MISSING_HEADER, 'missing Call-ID', 0, 'Call-ID');
  if (cseq === undefined) return new SipParseError(E.MISSING_HEADER, 'missing CSeq', 0, 'CSeq');
  if (dup !== undefined) return new SipParseError(E.DUPLICATE_HEADER, `more than one ${dup}`, dupOffset, dup);

  let v = textOf(msg, from);
  if (!checkNameAddr(v, RANGE.start, RANGE.end, NA_CHECK)) return new SipParseError(E.BAD_HEADER, 'malformed From', from.start, 'From');
  const fromTag = NA_CHECK.tag;
  v = textOf(msg, to);
  if (!checkNameAddr(v, RANGE.start, RANGE.end, NA_CHECK)) return new SipParseError(E.BAD_HEADER, 'malformed To', to.start, 'To');
  const toTag = NA_CHECK.tag;
  v = textOf(msg, callId);
  if (!isValidCallIdAt(v, RANGE.start, RANGE.end)) return new SipParseError(E.BAD_HEADER, 'malformed Call-ID', callId.start, 'Call-ID');
  const cid = msg._valueOf(callId);
  const cs = parseCSeq(msg._valueOf(cseq));
  if (cs === undefined) return new SipParseError(E.BAD_HEADER, 'malformed CSeq', cseq.start, 'CSeq');
  msg._fromTag = fromTag;
  msg._toTag = toTag;
  msg._callId = cid;
  msg._cseq = cs;

  if (msg instanceof SipRequest) {
    // RFC 3261 §8.1.1.5: the CSeq method MUST match the request's (RFC 4475 §3.1.2.17/18).
    if (cs.method !== msg.method) {
      return new SipParseError(E.CSEQ_MISMATCH, `CSeq method ${cs.method} differs from ${msg.method}`, cseq.start, 'CSeq');
    }
    if (maxFwd !== undefined) {
      v = textOf(msg, maxFwd);
      const mf = parseMaxForwardsAt(v, RANGE.start, RANGE.end);
      if (mf < 0) return new SipParseError(E.BAD_HEADER, 'malformed Max-Forwards', maxFwd.start, 'Max-Forwards');
      msg._maxForwards = mf;
    } else msg._maxForwards = -1;
  }
  return undefined;
}
