/** A key press carried in a SIP INFO body. */
export interface InfoDtmf {
  digit: string;
  /** Duration when the sender gave one, ms. */
  durationMs: number | undefined;
}

// RFC 4733 §3.2 event codes 10-15 map to * # A B C D; some gateways send the code instead of the character.
const EVENT_DIGITS = '0123456789*#ABCD';

function digitOf(value: string): string | undefined {
  const v = value.trim().toUpperCase();
  if (v.length === 1 && EVENT_DIGITS.includes(v)) return v;
  if (/^[0-9]{1,2}$/.test(v)) {
    const n = Number(v);
    if (n < 16) return EVENT_DIGITS[n];
  }
  return undefined;
}

/**
 * Parse a DTMF key press from an INFO request body (RFC 6086 carries the INFO; the packages are de facto):
 * - `application/dtmf-relay`: lines `Signal=5` and `Duration=160` (ms);
 * - `application/dtmf`: the digit or its RFC 4733 event code as the whole body.
 * Returns undefined for other content types or unreadable bodies (never throws: this is network input).
 */
export function parseInfoDtmf(contentType: string | undefined, body: Buffer): InfoDtmf | undefined {
  if (!contentType || body.length === 0 || body.length > 1024) return undefined;
  const type = contentType.split(';')[0].trim().toLowerCase();
  const text = body.toString('latin1');
  if (type === 'application/dtmf') {
    const digit = digitOf(text);
    return digit ? { digit, durationMs: undefined } : undefined;
  }
  if (type !== 'application/dtmf-relay') return undefined;
  let digit: string | undefined;
  let durationMs: number | undefined;
  for (const line of text.split(/\r?\n/)) {
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const name = line.slice(0, eq).trim().toLowerCase();
    const value = line.slice(eq + 1);
    if (name === 'signal') digit = digitOf(value);
    else if (name === 'duration') {
      const d = Number(value.trim());
      if (Number.isFinite(d) && d > 0 && d < 60_000) durationMs = Math.round(d);
    }
  }
  return digit ? { digit, durationMs } : undefined;
}

/** The INFO body we send for a digit (application/dtmf-relay, the most widely understood). */
export function formatDtmfRelay(digit: string, durationMs: number): string {
  return `Signal=${digit}\r\nDuration=${Math.round(durationMs)}\r\n`;
}
