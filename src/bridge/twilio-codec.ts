import { createHash, randomBytes } from 'node:crypto';
import { PCMU } from '../dsp';
import type { BridgeCallInfo, BridgeDtmfEvent } from './bridge-call-port';
import { AiDecodeResult, decodeFail, decodeOk } from './ai-command';
import { decodeBase64, isObject, MAX_SCRATCH_BYTES, parseJson } from './json-fields';
import { decodeBase64Bytes, FieldKind, JsonFieldScanner } from './json-scan';
import type { ProtocolCodec, WireMessage } from './protocol-codec';
import { MAX_NUMBER_BYTES, putBytes, writeUint } from './wire-bytes';

/**
 * Twilio Media Streams (https://www.twilio.com/docs/voice/media-streams/websocket-messages), so agents written
 * for Twilio's bidirectional `<Connect><Stream>` connect unchanged. Every frame is a JSON text frame keyed by `event`.
 *
 * From us: `connected` {protocol: "Call", version: "1.0.0"}; `start` {sequenceNumber, start: {streamSid, accountSid,
 * callSid, tracks, customParameters, mediaFormat {encoding: "audio/x-mulaw", sampleRate: 8000, channels: 1}},
 * streamSid}; `media` {sequenceNumber, media {track: "inbound", chunk, timestamp, payload}, streamSid}; `dtmf`
 * {dtmf {track: "inbound_track", digit}}; `mark` {mark {name}}; `stop` {stop {accountSid, callSid}}.
 * sequenceNumber, chunk and timestamp are strings, as Twilio sends them. From the app: `media` {media {payload}},
 * `mark` {mark {name}}, `clear`. The app's streamSid is not checked (there is one stream per socket).
 */

export interface TwilioCodecOptions {
  /** `AC` + 32 hex; default derived from the called number so one tenant's calls share it. */
  accountSid?: string;
  /** `MZ` + 32 hex; default random. Kept across reconnections so the app can correlate the resumed stream. */
  streamSid?: string;
}

const SID_HEX = /^[0-9a-f]{32}$/;

function hashSid(prefix: string, seed: string): string {
  return prefix + createHash('sha256').update(seed).digest('hex').slice(0, 32);
}

/** A Twilio-shaped SID: two-letter prefix + 32 lowercase hex. */
export function isTwilioSid(prefix: string, sid: string): boolean {
  return sid.length === 34 && sid.startsWith(prefix) && SID_HEX.test(sid.slice(2));
}

export function newStreamSid(): string {
  return 'MZ' + randomBytes(16).toString('hex');
}

const FRAME_8K = 160;
const MAX_MARK_NAME = 256;

/** Pieces of the outgoing `media` message around its variable parts (see encodeAudio). */
const MEDIA_HEAD = Buffer.from('{"event":"media","sequenceNumber":"', 'latin1');
const MEDIA_CHUNK = Buffer.from('","media":{"track":"inbound","chunk":"', 'latin1');
const MEDIA_TIMESTAMP = Buffer.from('","timestamp":"', 'latin1');
const MEDIA_PAYLOAD = Buffer.from('","payload":"', 'latin1');

/** Fields the inbound media fast path reads: `event` at the top level, `payload` inside `media`. */
const FAST_KEYS = ['event', 'payload'] as const;
const K_EVENT = 0;
const K_PAYLOAD = 1;
const IN_MEDIA = FAST_KEYS.length;
const MEDIA = Buffer.from('media', 'latin1');

export class TwilioCodec implements ProtocolCodec {
  readonly protocol = 'twilio' as const;
  readonly subprotocol = undefined;
  /** Media Streams is mu-law 8 kHz only. */
  readonly wireRate = 8000;
  readonly audioFrames = 'text' as const;
  /** Reused buffer the AI's audio is decoded into (the command's bytes are converted before the next message). */
  private readonly scratch = { buf: Buffer.allocUnsafe(512) };
  readonly streamSid: string;
  readonly accountSid: string;
  /** CA + 32 hex derived from our Call-ID: stable across reconnections of the same call. */
  readonly callSid: string;
  private sequenceNumber = 0;
  private chunk = 0;
  private readonly streamSidJson: string;
  private readonly ulaw = Buffer.alloc(FRAME_8K);
  /** Reused buffer outgoing media messages are assembled in. */
  private readonly out: Buffer;
  private readonly scanner = new JsonFieldScanner(FAST_KEYS, 'media', ['payload']);
  /** `"},"streamSid":"MZ..."}`: the end of every media message. */
  private readonly mediaTail: Buffer;
  /** Wall time the stream timeline counts from (media.timestamp = ms since the stream started). */
  private streamStartMs = -1;

  constructor(
    private readonly call: BridgeCallInfo,
    opts: TwilioCodecOptions = {},
  ) {
    this.streamSid = opts.streamSid ?? newStreamSid();
    this.accountSid = opts.accountSid ?? hashSid('AC', `account:${call.to}`);
    if (!isTwilioSid('MZ', this.streamSid)) throw new TypeError(`streamSid must be MZ + 32 hex, got ${this.streamSid}`);
    if (!isTwilioSid('AC', this.accountSid)) throw new TypeError(`accountSid must be AC + 32 hex, got ${this.accountSid}`);
    this.callSid = hashSid('CA', `call:${call.callId}`);
    this.streamSidJson = JSON.stringify(this.streamSid);
    this.mediaTail = Buffer.from(`"},"streamSid":${this.streamSidJson}}`, 'latin1');
    const fixed = MEDIA_HEAD.length + MEDIA_CHUNK.length + MEDIA_TIMESTAMP.length + MEDIA_PAYLOAD.length + this.mediaTail.length;
    this.out = Buffer.allocUnsafe(fixed + 3 * MAX_NUMBER_BYTES + Math.ceil(FRAME_8K / 3) * 4);
  }

  private nextSeq(): string {
    return String(++this.sequenceNumber);
  }

  openMessages(resumed: boolean): WireMessage[] {
    // A new connection is a new Media Stream as far as the app can tell: counters start again at 1.
    this.sequenceNumber = 0;
    this.chunk = 0;
    const customParameters: Record<string, string> = { ...this.call.customParameters, from: this.call.from, to: this.call.to, direction: this.call.direction };
    if (resumed) customParameters.resumed = 'true';
    return [
      JSON.stringify({ event: 'connected', protocol: 'Call', version: '1.0.0' }),
      JSON.stringify({
        event: 'start',
        sequenceNumber: this.nextSeq(),
        start: {
          accountSid: this.accountSid,
          streamSid: this.streamSid,
          callSid: this.callSid,
          tracks: ['inbound'],
          customParameters,
          mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
        },
        streamSid: this.streamSid,
      }),
    ];
  }

  /**
   * One `media` message as UTF-8 bytes (a text frame), assembled in place: a view of a buffer reused by the next call.
   */
  encodeAudio(frame: Int16Array, _seq: number, wallMs: number): WireMessage {
    if (this.streamStartMs < 0) this.streamStartMs = wallMs;
    PCMU.encodeInto(frame, this.ulaw);
    const ts = Math.max(0, Math.round(wallMs - this.streamStartMs));
    const out = this.out;
    let at = putBytes(out, 0, MEDIA_HEAD);
    at = writeUint(out, at, ++this.sequenceNumber);
    at = putBytes(out, at, MEDIA_CHUNK);
    at = writeUint(out, at, ++this.chunk);
    at = putBytes(out, at, MEDIA_TIMESTAMP);
    at = writeUint(out, at, ts);
    at = putBytes(out, at, MEDIA_PAYLOAD);
    at += out.write(this.ulaw.toString('base64', 0, Math.min(frame.length, FRAME_8K)), at, 'latin1');
    at = putBytes(out, at, this.mediaTail);

    return out.subarray(0, at);
  }

  encodeDtmf(event: BridgeDtmfEvent): WireMessage {
    return JSON.stringify({ event: 'dtmf', streamSid: this.streamSid, sequenceNumber: this.nextSeq(), dtmf: { track: 'inbound_track', digit: event.digit } });
  }

  /** Twilio echoes a mark both when its audio has played and when `clear` dropped it; the message is the same. */
  encodeMark(name: string): WireMessage {
    return JSON.stringify({ event: 'mark', sequenceNumber: this.nextSeq(), streamSid: this.streamSid, mark: { name } });
  }

  encodePlayDone(): WireMessage | null {
    return null;
  }

  encodeEnd(): WireMessage {
    return JSON.stringify({ event: 'stop', sequenceNumber: this.nextSeq(), streamSid: this.streamSid, stop: { accountSid: this.accountSid, callSid: this.callSid } });
  }

  /** Twilio never answers an app's bad message; neither do we in this mode (the session counts it). */
  encodeError(): WireMessage | null {
    return null;
  }

  encodeSms(): WireMessage | null {
    return null;
  }

  decodeBinary(): AiDecodeResult {
    return decodeFail('BRIDGE_UNEXPECTED_BINARY', 'Media Streams messages are text frames');
  }

  decodeTextFrame(bytes: Buffer): AiDecodeResult {
    return this.decodeMediaFast(bytes) ?? this.decodeText(bytes.toString('utf8'));
  }

  /**
   * A `media` message read straight from the frame's bytes when it is in the scanner's subset with a valid payload;
   * undefined otherwise (the general path then gives its answer, errors included).
   */
  private decodeMediaFast(buf: Buffer): AiDecodeResult | undefined {
    const s = this.scanner;
    if (!s.scan(buf)) return undefined;
    const kind = s.kind;
    if (kind[K_EVENT] !== FieldKind.String || !s.stringEquals(buf, K_EVENT, MEDIA)) return undefined;
    // A top-level payload is not read by the general path, so it is not validated here either: leave it to that path.
    if (kind[K_PAYLOAD] !== FieldKind.Absent || kind[IN_MEDIA + K_PAYLOAD] !== FieldKind.String) return undefined;
    const start = s.start[IN_MEDIA + K_PAYLOAD];
    const end = s.end[IN_MEDIA + K_PAYLOAD];
    const max = ((end - start) >> 2) * 3;
    if (max > MAX_SCRATCH_BYTES) return undefined;
    const scratch = this.scratch;
    if (scratch.buf.length < max) scratch.buf = Buffer.allocUnsafe(Math.min(MAX_SCRATCH_BYTES, Math.max(max, scratch.buf.length * 2)));
    const n = decodeBase64Bytes(buf, start, end, scratch.buf);
    if (n < 0) return undefined;
    return decodeOk({ kind: 'audio', encoding: 'mulaw', bytes: scratch.buf.subarray(0, n), sampleRate: 8000 });
  }

  decodeText(text: string): AiDecodeResult {
    const parsed = parseJson(text);
    if (!parsed.ok) return decodeFail('BRIDGE_MALFORMED_JSON', `message is not valid JSON: ${parsed.message}`);
    const msg = parsed.value;
    if (!isObject(msg)) return decodeFail('BRIDGE_NOT_AN_OBJECT', 'message must be a JSON object');
    const event = msg.event;
    if (typeof event !== 'string') return decodeFail('BRIDGE_BAD_FIELD', 'missing string field "event"');
    switch (event) {
      case 'media': {
        const media = msg.media;
        const payload = isObject(media) ? media.payload : undefined;
        if (typeof payload !== 'string') return decodeFail('BRIDGE_BAD_FIELD', 'media needs media.payload (base64 mu-law)', event);
        const bytes = decodeBase64(payload, this.scratch);
        if (bytes === undefined) return decodeFail('BRIDGE_BAD_FIELD', 'media.payload is not valid base64', event);
        return decodeOk({ kind: 'audio', encoding: 'mulaw', bytes, sampleRate: 8000 });
      }
      case 'mark': {
        const mark = msg.mark;
        const name = isObject(mark) ? mark.name : undefined;
        if (typeof name !== 'string' || name.length === 0 || name.length > MAX_MARK_NAME) {
          return decodeFail('BRIDGE_BAD_FIELD', 'mark needs mark.name', event);
        }
        return decodeOk({ kind: 'mark', name });
      }
      case 'clear':
        return decodeOk({ kind: 'clear' });
      default:
        return decodeFail('BRIDGE_UNKNOWN_TYPE', `unknown event ${JSON.stringify(event.slice(0, 64))}`, event.slice(0, 64));
    }
  }

  resetUplink(): void {
    // mu-law at 8 kHz keeps no state between frames.
  }
}
