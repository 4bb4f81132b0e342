/** scanContentLength: no Content-Length header in the header section. */
export const CONTENT_LENGTH_MISSING = -1;
/** scanContentLength: a Content-Length that is not 1*DIGIT, or two that disagree. */
export const CONTENT_LENGTH_INVALID = -2;

const CR = 13;
const LF = 10;
const SP = 32;
const HTAB = 9;
const COLON = 58;
const ZERO = 48;
/** "content-length" lower-cased, as bytes. */
const NAME = Buffer.from('content-length', 'latin1');
/** More digits than this cannot be a sane length (and would lose precision). */
const MAX_DIGITS = 12;

/**
 * Read Content-Length (or its compact form `l`, RFC 3261 §7.3.3) from a header section without parsing
 * the message: `buf[start..headerEnd)` holds the start-line and the header lines, `headerEnd` being the
 * index of the CRLFCRLF that ends them. Header names are matched case-insensitively (§7.3.1), LWS around
 * the colon and folded continuation lines (§7.3.1, §25.1 LWS) are accepted.
 *
 * Returns the length (>= 0), CONTENT_LENGTH_MISSING, or CONTENT_LENGTH_INVALID (garbage value, or
 * several Content-Length headers that disagree: framing would be ambiguous, RFC 3261 §18.3).
 */
export function scanContentLength(buf: Buffer, start: number, headerEnd: number): number {
  let result = CONTENT_LENGTH_MISSING;
  // The start-line never carries a header: begin at the first CRLF.
  let pos = buf.indexOf(CR, start);
  while (pos >= 0 && pos < headerEnd) {
    const lineStart = pos + 2;
    let lineEnd = buf.indexOf(CR, lineStart);
    if (lineEnd < 0 || lineEnd > headerEnd) lineEnd = headerEnd;
    const first = buf[lineStart];
    let nameEnd = -1;
    if (first !== SP && first !== HTAB) {
      const c = first | 0x20;
      if (c === 0x6c /* l */) nameEnd = lineStart + 1;
      else if (c === 0x63 /* c */ && lineEnd - lineStart > NAME.length && matchesName(buf, lineStart)) nameEnd = lineStart + NAME.length;
    }
    if (nameEnd >= 0) {
      let j = nameEnd;
      while (buf[j] === SP || buf[j] === HTAB) j++;
      if (buf[j] === COLON) {
        const value = parseValue(buf, j + 1, headerEnd);
        if (value.length < 0) return CONTENT_LENGTH_INVALID;
        if (result >= 0 && result !== value.length) return CONTENT_LENGTH_INVALID;
        result = value.length;
        pos = value.end;
        continue;
      }
    }
    pos = lineEnd;
  }
  return result;
}

function matchesName(buf: Buffer, at: number): boolean {
  for (let i = 0; i < NAME.length; i++) if ((buf[at + i] | 0x20) !== NAME[i]) return false;
  return true;
}

/** Scratch result of parseValue (one per module: the scanner is synchronous and not re-entrant). */
const scratch = { length: 0, end: 0 };

/** Parse `LWS 1*DIGIT LWS CRLF` from `j`; `length` < 0 on garbage; `end` is the CR ending the logical line. */
function parseValue(buf: Buffer, j: number, headerEnd: number): { length: number; end: number } {
  j = skipLws(buf, j, headerEnd);
  let value = 0;
  let digits = 0;
  for (;;) {
    const d = buf[j] - ZERO;
    if (d < 0 || d > 9) break;
    value = value * 10 + d;
    digits++;
    j++;
  }
  j = skipLws(buf, j, headerEnd);
  scratch.end = j;
  scratch.length = digits === 0 || digits > MAX_DIGITS || buf[j] !== CR || buf[j + 1] !== LF ? -1 : value;
  return scratch;
}

/** Skip SP/HTAB and folded line breaks (CRLF followed by SP/HTAB) that lie inside the header section. */
function skipLws(buf: Buffer, j: number, headerEnd: number): number {
  for (;;) {
    const b = buf[j];
    if (b === SP || b === HTAB) j++;
    else if (b === CR && j < headerEnd && buf[j + 1] === LF && (buf[j + 2] === SP || buf[j + 2] === HTAB)) j += 3;
    else return j;
  }
}
