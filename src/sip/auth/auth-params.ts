/**
 * The auth-param grammar shared by WWW-Authenticate, Proxy-Authenticate, Authorization and Proxy-Authorization
 * (RFC 3261 §25.1 `challenge` / `credentials`, RFC 7235 §2.1):
 *
 *   challenge   = auth-scheme 1*SP auth-param *( "," auth-param )
 *   auth-param  = token BWS "=" BWS ( token / quoted-string )
 *
 * One header field may hold several challenges separated by commas (RFC 7235 §4.1); a new challenge starts where
 * a comma is followed by `token SP token "="` rather than by `token "="`. Parsing never throws: a malformed
 * challenge is skipped and the rest are kept.
 */

/** One challenge or credentials value: the scheme and its parameters (names lower-cased, values unquoted). */
export interface AuthParams {
  /** Scheme as written ('Digest'); compare case-insensitively. */
  readonly scheme: string;
  readonly params: Map<string, string>;
}

const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 48; c <= 57; c++) TCHAR[c] = 1;
for (let c = 65; c <= 90; c++) TCHAR[c] = 1;
for (let c = 97; c <= 122; c++) TCHAR[c] = 1;

function isTchar(c: number): boolean {
  return c < 128 && TCHAR[c] === 1;
}

function isWs(c: number): boolean {
  return c === 32 || c === 9 || c === 13 || c === 10;
}

function skipWs(s: string, i: number): number {
  while (i < s.length && isWs(s.charCodeAt(i))) i++;
  return i;
}

function scanToken(s: string, i: number): number {
  while (i < s.length && isTchar(s.charCodeAt(i))) i++;
  return i;
}

/** Reads a quoted-string starting at the DQUOTE at `i`; returns [value, next index] or undefined if unterminated. */
function readQuoted(s: string, i: number): [string, number] | undefined {
  let out = '';
  let j = i + 1;
  let plain = j;
  while (j < s.length) {
    const c = s.charCodeAt(j);
    if (c === 34) return [out + s.slice(plain, j), j + 1];
    if (c === 92) {
      if (j + 1 >= s.length) return undefined;
      out += s.slice(plain, j) + s[j + 1];
      j += 2;
      plain = j;
      continue;
    }
    j++;
  }
  return undefined;
}

/** Skips to just after the next top-level comma (outside quotes), or to the end: recovery after a bad element. */
function skipElement(s: string, i: number): number {
  let quoted = false;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (quoted) {
      if (c === 92) i++;
      else if (c === 34) quoted = false;
    } else if (c === 34) quoted = true;
    else if (c === 44) return i + 1;
  }
  return i;
}

/**
 * Parses every challenge (or credentials value) of one header field value. Parameters without a value or with a
 * broken quoted string end that challenge; duplicated parameter names keep the first (RFC 7616 §3.3: each
 * directive appears once).
 */
export function parseAuthParams(value: string): AuthParams[] {
  const out: AuthParams[] = [];
  const s = value;
  let i = 0;
  while (i < s.length) {
    i = skipWs(s, i);
    if (i < s.length && s.charCodeAt(i) === 44) {
      i++;
      continue;
    }
    if (i >= s.length) break;
    const schemeEnd = scanToken(s, i);
    if (schemeEnd === i) {
      i = skipElement(s, i);
      continue;
    }
    const scheme = s.slice(i, schemeEnd);
    i = schemeEnd;
    const params = new Map<string, string>();
    let broken = false;
    // Parameters: name = value, comma-separated, until something that is not `token =` (a new scheme or the end).
    for (;;) {
      const start = skipWs(s, i);
      if (start >= s.length) {
        i = start;
        break;
      }
      const nameEnd = scanToken(s, start);
      if (nameEnd === start) {
        broken = true;
        i = skipElement(s, start);
        break;
      }
      const eq = skipWs(s, nameEnd);
      if (eq >= s.length || s.charCodeAt(eq) !== 61) {
        // `token` not followed by '=': the next challenge's scheme (or a token68 we do not use).
        i = start;
        break;
      }
      let v = skipWs(s, eq + 1);
      let val: string;
      if (v < s.length && s.charCodeAt(v) === 34) {
        const q = readQuoted(s, v);
        if (!q) {
          broken = true;
          i = s.length;
          break;
        }
        [val, v] = q;
      } else {
        const end = scanToken(s, v);
        // Be lenient with unquoted values some servers send with '/' or ':' (nonce, uri): up to ',' or space.
        let e = end;
        while (e < s.length && s.charCodeAt(e) !== 44 && !isWs(s.charCodeAt(e))) e++;
        val = s.slice(v, e);
        v = e;
      }
      const name = s.slice(start, nameEnd).toLowerCase();
      if (!params.has(name)) params.set(name, val);
      i = skipWs(s, v);
      if (i < s.length && s.charCodeAt(i) === 44) {
        i++;
        continue;
      }
      if (i >= s.length) break;
      // Anything else after a value is garbage: drop the rest of this element.
      broken = true;
      i = skipElement(s, i);
      break;
    }
    if (!broken || params.size > 0) out.push({ scheme, params });
  }
  return out;
}

/** Writes a quoted-string (RFC 3261 §25.1 quoted-pair for '"' and '\'). */
export function quoteParam(value: string): string {
  let needs = false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 34 || c === 92) {
      needs = true;
      break;
    }
  }
  return needs ? `"${value.replace(/["\\]/g, (m) => '\\' + m)}"` : `"${value}"`;
}
