import { createHash, randomBytes } from 'node:crypto';
import { PCMU } from '../dsp';
import type { BridgeCallInfo, BridgeDtmfEvent } from './bridge-call-port';
import { AiDecodeResult, decodeFail, decodeOk } from './ai-command';
import { decodeBase64, isObject, parseJson } from './json-fields';
import type { ProtocolCodec, WireMessage } from './protocol-codec';

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

  encodeAudio(frame: Int16Array, _seq: number, wallMs: number): WireMessage {
    if (this.streamStartMs < 0) this.streamStartMs = wallMs;
    PCMU.encodeInto(frame, this.ulaw);
    const payload = this.ulaw.toString('base64', 0, Math.min(frame.length, FRAME_8K));
    const ts = Math.max(0, Math.round(wallMs - this.streamStartMs));
    return `{"event":"media","sequenceNumber":"${++this.sequenceNumber}","media":{"track":"inbound","chunk":"${++this.chunk}","timestamp":"${ts}","payload":"${payload}"},"streamSid":${this.streamSidJson}}`;
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
