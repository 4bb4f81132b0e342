import { scanContentLength } from './content-length-scanner';

const CR = 13;
const LF = 10;
const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');

/** Receives what the framer finds in the byte stream. */
export interface StreamFramerSink {
  /**
   * One complete message (start-line, headers, body of exactly Content-Length bytes). The Buffer is a view
   * of a chunk the framer never writes to again: the callee may keep it.
   */
  onFrame(message: Buffer): void;
  /** RFC 5626 §4.4.1: a double-CRLF "ping" (answer with a CRLF "pong") or a single-CRLF "pong". */
  onKeepAlive(kind: 'ping' | 'pong'): void;
}

/** Why a stream cannot be framed any further. The connection must be closed. */
export interface FramerFailure {
  readonly reason: 'oversize' | 'invalid-framing';
  /** The start-line and header section of the offending message, when it was complete. */
  readonly head?: Buffer;
}

export type FramerStatus = 'ok' | FramerFailure['reason'];

/**
 * Splits a SIP byte stream (TCP/TLS) into messages by Content-Length (RFC 3261 §18.3).
 *
 * - A message wholly inside one chunk is delivered as a zero-copy `subarray` of it; a message spread over
 *   chunks is assembled with one copy once all its bytes are in (no quadratic re-copying when fed byte by byte).
 * - Partial input waits; invalid input (no Content-Length, a garbage or conflicting one: §18.3 makes the
 *   header mandatory on streams) fails the framer, as does a message over `maxMessageSize`. After a failure
 *   every push is ignored: there is no resynchronising a stream whose framing is lost.
 * - CRLFs between messages are keep-alives (RFC 5626 §4.4.1) or tolerated noise (RFC 3261 §7.5); a CRLF pair
 *   is reported as a ping, a lone CRLF as a pong.
 */
export class StreamFramer {
  private parts: Buffer[] = [];
  private partsLen = 0;
  /** Total length of the message being assembled, once its header section is known; -1 before. */
  private need = -1;
  /** How much of CRLFCRLF the buffered bytes end with (KMP state), while the header end is not found. */
  private matchState = 0;
  /** Complete CRLFs seen since the last message or keep-alive. */
  private crlfRun = 0;
  private pendingCR = false;
  private failure_: FramerFailure | null = null;

  constructor(
    private readonly sink: StreamFramerSink,
    readonly maxMessageSize = 65535,
  ) {}

  /** The failure that stopped the framer, if any. */
  get failure(): FramerFailure | null {
    return this.failure_;
  }

  /** Bytes held while waiting for the rest of a message. */
  get bufferedBytes(): number {
    return this.partsLen;
  }

  /** Stop framing: later pushes are ignored (the owner is closing the stream). */
  halt(): void {
    if (this.failure_ === null) this.failure_ = { reason: 'invalid-framing' };
    this.parts = [];
    this.partsLen = 0;
  }

  /** Feed the next chunk of the stream. Returns 'ok', or the failure reason once framing is lost. */
  push(chunk: Buffer): FramerStatus {
    if (this.failure_ !== null) return this.failure_.reason;
    if (chunk.length === 0) return 'ok';
    if (this.partsLen === 0) return this.process(chunk, 0);
    if (this.need >= 0) {
      this.parts.push(chunk);
      this.partsLen += chunk.length;
      return this.partsLen < this.need ? 'ok' : this.process(this.flatten(), 0);
    }
    const complete = this.headerEndCompletes(chunk);
    this.parts.push(chunk);
    this.partsLen += chunk.length;
    if (complete) return this.process(this.flatten(), 0);
    if (this.partsLen > this.maxMessageSize) return this.fail('oversize', undefined);
    return 'ok';
  }

  private process(buf: Buffer, off: number): FramerStatus {
    const len = buf.length;
    while (off < len) {
      off = this.skipKeepAlive(buf, off);
      if (off >= len) break;
      const headerEnd = buf.indexOf(CRLFCRLF, off);
      if (headerEnd < 0) {
        if (len - off > this.maxMessageSize) return this.fail('oversize', undefined);
        this.keep(buf, off, -1);
        return 'ok';
      }
      const headLen = headerEnd + 4 - off;
      if (headLen > this.maxMessageSize) return this.fail('oversize', buf.subarray(off, headerEnd + 4));
      const contentLength = scanContentLength(buf, off, headerEnd);
      if (contentLength < 0) {
        // RFC 3261 §18.3: on a stream the Content-Length header field MUST be used to find the end of each
        // message; without a usable one the framing of everything after it is unknown.
        return this.fail('invalid-framing', buf.subarray(off, headerEnd + 4));
      }
      const total = headLen + contentLength;
      if (total > this.maxMessageSize) return this.fail('oversize', buf.subarray(off, headerEnd + 4));
      if (off + total > len) {
        this.keep(buf, off, total);
        return 'ok';
      }
      this.sink.onFrame(buf.subarray(off, off + total));
      off += total;
      if (this.failure_ !== null) return this.failure_.reason;
    }
    // A lone CRLF at the end of what arrived is a pong: peers send it in one segment (RFC 5626 §4.4.1).
    if (this.crlfRun === 1 && !this.pendingCR) {
      this.crlfRun = 0;
      this.sink.onKeepAlive('pong');
    }
    return 'ok';
  }

  /** Consume CR/LF between messages, reporting keep-alives; returns the offset of the next message start. */
  private skipKeepAlive(buf: Buffer, off: number): number {
    const len = buf.length;
    while (off < len) {
      const b = buf[off];
      if (b === CR) {
        this.pendingCR = true;
      } else if (b === LF) {
        // A bare LF is noise; CRLF counts toward a keep-alive.
        if (this.pendingCR) {
          this.pendingCR = false;
          if (++this.crlfRun === 2) {
            this.crlfRun = 0;
            this.sink.onKeepAlive('ping');
          }
        }
      } else {
        this.pendingCR = false;
        if (this.crlfRun === 1) {
          this.crlfRun = 0;
          this.sink.onKeepAlive('pong');
        }
        return off;
      }
      off++;
    }
    return off;
  }

  /** Keep buf[off..] as the start of a message still incomplete. */
  private keep(buf: Buffer, off: number, need: number): void {
    const rest = off === 0 ? buf : buf.subarray(off);
    this.parts = [rest];
    this.partsLen = rest.length;
    this.need = need;
    this.matchState = need < 0 ? tailMatchState(rest) : 0;
  }

  /** Join the buffered parts into one Buffer (the only copy of the slow path) and clear them. */
  private flatten(): Buffer {
    const joined = this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts, this.partsLen);
    this.parts = [];
    this.partsLen = 0;
    this.need = -1;
    this.matchState = 0;
    return joined;
  }

  /** Would appending `chunk` to the buffered bytes complete a CRLFCRLF? Updates the KMP state otherwise. */
  private headerEndCompletes(chunk: Buffer): boolean {
    let s = this.matchState;
    const n = chunk.length < 3 ? chunk.length : 3;
    // A match crossing the boundary completes within the first 3 bytes of the chunk.
    for (let i = 0; i < n; i++) {
      s = step(s, chunk[i]);
      if (s === 4) return true;
    }
    if (chunk.length > 3) {
      if (chunk.indexOf(CRLFCRLF) >= 0) return true;
      s = tailMatchState(chunk);
    }
    this.matchState = s;
    return false;
  }

  private fail(reason: FramerFailure['reason'], head: Buffer | undefined): FramerStatus {
    this.failure_ = head === undefined ? { reason } : { reason, head };
    this.parts = [];
    this.partsLen = 0;
    return reason;
  }
}

/** KMP step over the pattern CR LF CR LF. */
function step(state: number, b: number): number {
  if (b === (state & 1 ? LF : CR)) return state + 1;
  return b === CR ? 1 : 0;
}

/** KMP state after the last (up to) 3 bytes of `buf`, known to hold no complete CRLFCRLF. */
function tailMatchState(buf: Buffer): number {
  let s = 0;
  for (let i = buf.length > 3 ? buf.length - 3 : 0; i < buf.length; i++) s = step(s, buf[i]);
  return s;
}
