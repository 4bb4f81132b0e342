/**
 * Stream framing (RFC 3261 §18.3): on TCP/TLS, a message ends Content-Length octets after the empty line.
 * The framer only finds boundaries; parseMessage(frame) does the real parsing. It keeps "partial" (wait for more
 * bytes) apart from "invalid" (the stream cannot be resynchronised: close the connection).
 */
import { CH_CR, CH_HT, CH_LF, CH_SP } from './char-class';
import { SipParseError, SipParseErrorCode } from './errors';
import { DEFAULT_MAX_MESSAGE_SIZE } from './parser';

export type FrameResult =
  /** Line breaks between messages (RFC 5626 §3.5.1 keep-alive ping/pong): skip `length` bytes. */
  | { kind: 'keepalive'; length: number }
  /** A whole message occupies `length` bytes from the offset. */
  | { kind: 'message'; length: number }
  /** More bytes are needed. */
  | { kind: 'partial' }
  /** The stream cannot be framed (no or bad Content-Length, too large). */
  | { kind: 'invalid'; error: SipParseError };

function isContentLengthName(buf: Buffer, s: number, e: number): boolean {
  const n = e - s;
  if (n === 1) return (buf[s] | 0x20) === 0x6c; // compact form 'l' (RFC 3261 §7.3.3)
  return n === 14 && buf.toString('latin1', s, e).toLowerCase() === 'content-length';
}

/** Finds the extent of the message starting at `offset` in a stream buffer. */
export function frameStreamMessage(buf: Buffer, offset = 0, maxSize = DEFAULT_MAX_MESSAGE_SIZE): FrameResult {
  let p = offset;
  while (p < buf.length && (buf[p] === CH_CR || buf[p] === CH_LF)) p++;
  if (p > offset) return { kind: 'keepalive', length: p - offset };
  if (p >= buf.length) return { kind: 'partial' };
  // End of the header section: the first empty line (CRLF CRLF, or bare LF tolerated like the parser does).
  let contentLength = -1;
  let lineStart = p;
  for (;;) {
    const nl = buf.indexOf(CH_LF, lineStart);
    if (nl < 0 || nl - offset >= maxSize) {
      if (buf.length - offset > maxSize) {
        return { kind: 'invalid', error: new SipParseError(SipParseErrorCode.TOO_LARGE, 'header section exceeds the size limit', offset) };
      }
      return { kind: 'partial' };
    }
    const le = nl > lineStart && buf[nl - 1] === CH_CR ? nl - 1 : nl;
    if (le === lineStart) {
      if (contentLength < 0) {
        return {
          kind: 'invalid',
          error: new SipParseError(SipParseErrorCode.MISSING_HEADER, 'Content-Length is mandatory on stream transports', nl, 'Content-Length'),
        };
      }
      const total = nl + 1 - offset + contentLength;
      if (total > maxSize) {
        return { kind: 'invalid', error: new SipParseError(SipParseErrorCode.TOO_LARGE, 'message exceeds the size limit', offset) };
      }
      return buf.length - offset >= total ? { kind: 'message', length: total } : { kind: 'partial' };
    }
    if (lineStart > p && buf[lineStart] !== CH_SP && buf[lineStart] !== CH_HT) {
      let ne = lineStart;
      while (ne < le && buf[ne] !== 58 && buf[ne] !== CH_SP && buf[ne] !== CH_HT) ne++;
      if (isContentLengthName(buf, lineStart, ne)) {
        let i = ne;
        while (i < le && (buf[i] === CH_SP || buf[i] === CH_HT)) i++;
        if (buf[i] === 58) i++;
        while (i < le && (buf[i] === CH_SP || buf[i] === CH_HT)) i++;
        let v = 0;
        const ds = i;
        while (i < le && buf[i] >= 48 && buf[i] <= 57) {
          // Saturate past the limit: the total check below then reports TOO_LARGE.
          if (v <= maxSize) v = v * 10 + (buf[i] - 48);
          i++;
        }
        while (i < le && (buf[i] === CH_SP || buf[i] === CH_HT)) i++;
        if (i === ds || i !== le || (contentLength >= 0 && v !== contentLength)) {
          return {
            kind: 'invalid',
            error: new SipParseError(SipParseErrorCode.CONTENT_LENGTH, 'malformed or conflicting Content-Length', lineStart, 'Content-Length'),
          };
        }
        contentLength = v;
      }
    }
    lineStart = nl + 1;
  }
}
