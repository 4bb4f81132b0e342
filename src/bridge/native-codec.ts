import type { BridgeCallInfo, BridgeDtmfEvent, BridgeMarkEvent, BridgeTransferType } from './bridge-call-port';
import { AiAudioEncoding, AiDecodeResult, AiMessageError, decodeFail, decodeOk } from './ai-command';
import { decodeBase64, isObject, JsonObject, MAX_SCRATCH_BYTES, numberField, parseJson, stringField } from './json-fields';
import { decodeBase64Bytes, FieldKind, JsonFieldScanner } from './json-scan';
import type { BridgeSmsNotice, ProtocolCodec, WireMessage } from './protocol-codec';
import { UplinkConverter } from './uplink-converter';
import { MAX_NUMBER_BYTES, putBytes, writeEpochSeconds, writeUint } from './wire-bytes';

/** Rates the native protocol streams caller audio at (8 kHz telephone band, or wideband when the number asks). */
export const NATIVE_UPLINK_RATES: readonly number[] = [8000, 16000, 24000];

/** Rates we accept AI audio at (it is resampled to 8 kHz for the caller). */
export const AI_AUDIO_RATES: readonly number[] = [8000, 16000, 22050, 24000, 32000, 44100, 48000];

const MAX_MARK_NAME = 256;
const MAX_TEXT = 16_384;
const DTMF_DIGITS = /^[0-9A-D*#]{1,64}$/;

/** Fields the audio fast path reads, at the top level and in `data` (slot = index, or FAST_KEYS.length + index). */
const FAST_KEYS = ['type', 'call_id', 'audio', 'encoding', 'sample_rate'] as const;
const K_TYPE = 0;
const K_CALL_ID = 1;
const K_AUDIO = 2;
const K_ENCODING = 3;
const K_RATE = 4;
const IN_DATA = FAST_KEYS.length;
const AUDIO_DATA = Buffer.from('audio_data', 'latin1');
const TIMESTAMP_FIELD = Buffer.from('","timestamp":', 'latin1');
const SEQ_FIELD = Buffer.from(',"seq":', 'latin1');
/** The slot field() would read: `data`'s field first, then the top level's; -1 when neither is there. */
function pickSlot(kind: Uint8Array, k: number): number {
  if (kind[IN_DATA + k] !== FieldKind.Absent) return IN_DATA + k;
  return kind[k] !== FieldKind.Absent ? k : -1;
}

/** Room for the tail after the audio: `","timestamp":<seconds>,"seq":<n>}}`. */
const TAIL_BYTES = TIMESTAMP_FIELD.length + SEQ_FIELD.length + 2 * MAX_NUMBER_BYTES + 2;

/** Seconds since the epoch with millisecond precision, as in the seed's examples (`1634567890.123`). */
function epochSeconds(wallMs: number): string {
  return (Math.round(wallMs) / 1000).toFixed(3);
}

function audioEncoding(v: string | undefined): AiAudioEncoding | undefined {
  if (v === undefined) return 'pcm16';
  switch (v.toLowerCase()) {
    case 'pcm16':
    case 'pcm':
    case 'l16':
    case 'linear16':
    case 's16le':
      return 'pcm16';
    case 'mulaw':
    case 'ulaw':
    case 'pcmu':
    case 'audio/x-mulaw':
      return 'mulaw';
    default:
      return undefined;
  }
}

/**
 * The native JSON protocol (seed README "Integration with AI Platform", DESIGN.md "AI bridge protocol").
 *
 * From us, every message is `{"type": ..., "data": {...}}`: call_start, audio_data (base64 PCM16 LE mono, 20 ms per
 * message: 320 bytes at 8 kHz), dtmf, mark, call_end, sms_received, error. From the AI: audio_data, clear, mark,
 * hangup, transfer, send_dtmf, hold, resume, play, record_start, record_stop, transcript; fields are read from
 * `data` or, failing that, the top level.
 */
export class NativeCodec implements ProtocolCodec {
  readonly protocol = 'native' as const;
  readonly subprotocol = undefined;
  readonly wireRate: number;
  readonly audioFrames = 'text' as const;
  private readonly uplink: UplinkConverter;
  /** JSON string literal of the call id, built once: audio_data is assembled by template, not JSON.stringify. */
  private readonly callIdJson: string;
  /** Length of `{"type":"audio_data","data":{"call_id":<id>,"audio":"` in UTF-8, kept at the start of {@link out}. */
  private readonly audioPrefixLength: number;
  /** Reused buffer audio_data messages are assembled in: the prefix is written once, the rest per frame. */
  private out: Buffer;
  /** The call id as UTF-8 bytes (audio fast path: compared with the message's call_id without a string). */
  private readonly callIdBytes: Buffer;
  private readonly scanner = new JsonFieldScanner(FAST_KEYS, 'data', ['audio']);
  /** Reused buffer the AI's audio is decoded into (the command's bytes are converted before the next message). */
  private readonly scratch = { buf: Buffer.allocUnsafe(1024) };

  constructor(
    private readonly call: BridgeCallInfo,
    sampleRate = 8000,
  ) {
    if (!NATIVE_UPLINK_RATES.includes(sampleRate)) {
      throw new TypeError(`native protocol sample rate must be one of ${NATIVE_UPLINK_RATES.join(', ')}, got ${sampleRate}`);
    }
    this.wireRate = sampleRate;
    this.uplink = new UplinkConverter(sampleRate);
    this.callIdJson = JSON.stringify(call.callId);
    this.callIdBytes = Buffer.from(call.callId, 'utf8');
    const prefix = Buffer.from(`{"type":"audio_data","data":{"call_id":${this.callIdJson},"audio":"`, 'utf8');
    this.audioPrefixLength = prefix.length;
    // 20 ms at the wire rate: 2 bytes per sample, base64 4 characters per 3 bytes.
    const audioChars = Math.ceil((sampleRate / 50) * 2 / 3) * 4;
    this.out = Buffer.allocUnsafe(prefix.length + audioChars + TAIL_BYTES);
    prefix.copy(this.out, 0);
  }

  openMessages(resumed: boolean): WireMessage[] {
    const c = this.call;
    return [
      JSON.stringify({
        type: 'call_start',
        data: {
          call_id: c.callId,
          from_number: c.from,
          to_number: c.to,
          direction: c.direction,
          codec: c.codec,
          sample_rate: this.wireRate,
          encoding: 'pcm16',
          frame_ms: 20,
          custom_parameters: c.customParameters,
          resumed,
        },
      }),
    ];
  }

  /**
   * One audio_data message as UTF-8 bytes (sent as a text frame: {@link audioFrames}), a view of a buffer reused by
   * the next call.
   */
  encodeAudio(frame: Int16Array, seq: number, wallMs: number): WireMessage {
    // Hot path (50 per second per call): the message is assembled in place behind the prefix written once (base64
    // of the sample bytes, then the tail), so a frame allocates no string but the base64 and no JSON object graph.
    const bytes = this.uplink.convert(frame);
    const start = this.audioPrefixLength;
    const need = start + Math.ceil(bytes.length / 3) * 4 + TAIL_BYTES;
    if (this.out.length < need) {
      const grown = Buffer.allocUnsafe(need);
      this.out.copy(grown, 0, 0, start);
      this.out = grown;
    }
    const out = this.out;
    let at = start + out.write(bytes.toString('base64'), start, 'latin1');
    at = putBytes(out, at, TIMESTAMP_FIELD);
    at = writeEpochSeconds(out, at, wallMs);
    at = putBytes(out, at, SEQ_FIELD);
    at = writeUint(out, at, seq);
    out[at++] = 0x7d; // }
    out[at++] = 0x7d;
    return out.subarray(0, at);
  }

  encodeDtmf(event: BridgeDtmfEvent, wallMs: number): WireMessage {
    return `{"type":"dtmf","data":{"call_id":${this.callIdJson},"digit":"${event.digit}","source":"${event.source}","duration":${Math.round(event.durationMs)},"timestamp":${epochSeconds(wallMs)}}}`;
  }

  encodeMark(name: string, event: BridgeMarkEvent): WireMessage {
    return JSON.stringify({ type: 'mark', data: { call_id: this.call.callId, name, event } });
  }

  encodePlayDone(): WireMessage | null {
    return null;
  }

  encodeEnd(reason: string, durationS: number): WireMessage {
    return JSON.stringify({ type: 'call_end', data: { call_id: this.call.callId, reason, duration: Math.round(durationS * 1000) / 1000 } });
  }

  encodeError(error: AiMessageError): WireMessage {
    const data: JsonObject = { call_id: this.call.callId, code: error.code, message: error.message };
    if (error.type !== undefined) data.message_type = error.type;
    return JSON.stringify({ type: 'error', data });
  }

  encodeSms(sms: BridgeSmsNotice, wallMs: number): WireMessage {
    return JSON.stringify({
      type: 'sms_received',
      data: { call_id: this.call.callId, message_id: sms.messageId, from_number: sms.from, to_number: sms.to, text: sms.text, timestamp: Number(epochSeconds(wallMs)) },
    });
  }

  decodeBinary(): AiDecodeResult {
    return decodeFail('BRIDGE_UNEXPECTED_BINARY', 'the native protocol carries audio in audio_data text messages, not binary frames');
  }

  decodeTextFrame(bytes: Buffer): AiDecodeResult {
    return this.decodeAudioFast(bytes) ?? this.decodeText(bytes.toString('utf8'));
  }

  /**
   * audio_data read straight from the frame's bytes when the message is in the scanner's subset and every field has
   * the expected type and a valid value; undefined otherwise, so that anything unusual (and every error) takes the
   * general path and gets exactly its answer.
   */
  private decodeAudioFast(buf: Buffer): AiDecodeResult | undefined {
    const s = this.scanner;
    if (!s.scan(buf)) return undefined;
    const kind = s.kind;
    if (kind[K_TYPE] !== FieldKind.String || !s.stringEquals(buf, K_TYPE, AUDIO_DATA)) return undefined;
    const callId = pickSlot(kind, K_CALL_ID);
    if (callId >= 0 && (kind[callId] !== FieldKind.String || !s.stringEquals(buf, callId, this.callIdBytes))) return undefined;
    // The audio the general path would not read is not validated here: leave that case to it.
    if (kind[K_AUDIO] !== FieldKind.Absent && kind[IN_DATA + K_AUDIO] !== FieldKind.Absent) return undefined;
    const audio = pickSlot(kind, K_AUDIO);
    if (audio < 0 || kind[audio] !== FieldKind.String) return undefined;
    const enc = pickSlot(kind, K_ENCODING);
    if (enc >= 0 && kind[enc] !== FieldKind.String) return undefined;
    const encoding = audioEncoding(enc >= 0 ? buf.toString('latin1', s.start[enc], s.end[enc]) : undefined);
    if (encoding === undefined) return undefined;
    const rateSlot = pickSlot(kind, K_RATE);
    if (rateSlot >= 0 && kind[rateSlot] !== FieldKind.Number) return undefined;
    const rate = rateSlot >= 0 ? s.num[rateSlot] : encoding === 'mulaw' ? 8000 : this.wireRate;
    if (!AI_AUDIO_RATES.includes(rate)) return undefined;
    const b64Start = s.start[audio];
    const b64End = s.end[audio];
    const max = ((b64End - b64Start) >> 2) * 3;
    if (max > MAX_SCRATCH_BYTES) return undefined;
    const scratch = this.scratch;
    if (scratch.buf.length < max) scratch.buf = Buffer.allocUnsafe(Math.min(MAX_SCRATCH_BYTES, Math.max(max, scratch.buf.length * 2)));
    const n = decodeBase64Bytes(buf, b64Start, b64End, scratch.buf);
    if (n < 0) return undefined;
    return decodeOk({ kind: 'audio', encoding, bytes: scratch.buf.subarray(0, n), sampleRate: rate });
  }

  decodeText(text: string): AiDecodeResult {
    const parsed = parseJson(text);
    if (!parsed.ok) return decodeFail('BRIDGE_MALFORMED_JSON', `message is not valid JSON: ${parsed.message}`);
    const msg = parsed.value;
    if (!isObject(msg)) return decodeFail('BRIDGE_NOT_AN_OBJECT', 'message must be a JSON object');
    const type = msg.type;
    if (typeof type !== 'string') return decodeFail('BRIDGE_BAD_FIELD', 'missing string field "type"');
    const data = isObject(msg.data) ? msg.data : undefined;
    if (msg.data !== undefined && data === undefined) return decodeFail('BRIDGE_BAD_FIELD', '"data" must be an object', type);
    const callId = stringField(msg, data, 'call_id');
    if (callId !== undefined && callId !== this.call.callId) {
      return decodeFail('BRIDGE_CALL_ID_MISMATCH', `call_id ${JSON.stringify(callId.slice(0, 128))} is not this call`, type);
    }
    switch (type) {
      case 'audio_data':
        return this.decodeAudio(msg, data);
      case 'clear':
        return decodeOk({ kind: 'clear' });
      case 'mark': {
        const name = stringField(msg, data, 'name');
        if (name === undefined || name.length === 0 || name.length > MAX_MARK_NAME) {
          return decodeFail('BRIDGE_BAD_FIELD', `mark needs a "name" string of 1..${MAX_MARK_NAME} characters`, type);
        }
        return decodeOk({ kind: 'mark', name });
      }
      case 'hangup':
        return decodeOk({ kind: 'hangup', reason: (stringField(msg, data, 'reason') ?? 'ai-hangup').slice(0, 128) });
      case 'transfer': {
        const target = stringField(msg, data, 'target');
        if (target === undefined || target.length === 0 || target.length > 256) {
          return decodeFail('BRIDGE_BAD_FIELD', 'transfer needs a "target" (phone number or SIP URI)', type);
        }
        // The top-level "type" is the message type, so a transfer type is read from data.type or transfer_type.
        const dataType = data !== undefined && typeof data.type === 'string' ? data.type : undefined;
        const t = dataType ?? stringField(msg, data, 'transfer_type') ?? 'blind';
        if (t !== 'blind' && t !== 'attended') return decodeFail('BRIDGE_BAD_FIELD', 'transfer "type" must be blind or attended', type);
        return decodeOk({ kind: 'transfer', target, type: t as BridgeTransferType });
      }
      case 'send_dtmf': {
        const digits = stringField(msg, data, 'digits')?.toUpperCase();
        if (digits === undefined || !DTMF_DIGITS.test(digits)) {
          return decodeFail('BRIDGE_BAD_FIELD', 'send_dtmf needs "digits": 1..64 of 0-9 * # A-D', type);
        }
        return decodeOk({ kind: 'sendDtmf', digits });
      }
      case 'hold':
        return decodeOk({ kind: 'hold' });
      case 'resume':
        return decodeOk({ kind: 'resume' });
      case 'play': {
        const source = stringField(msg, data, 'file') ?? stringField(msg, data, 'url');
        if (source === undefined || source.length === 0 || source.length > 2048) {
          return decodeFail('BRIDGE_BAD_FIELD', 'play needs a "file" or "url" string', type);
        }
        return decodeOk({ kind: 'play', source });
      }
      case 'record_start':
        return decodeOk({ kind: 'recordStart' });
      case 'record_stop':
        return decodeOk({ kind: 'recordStop' });
      case 'transcript': {
        const speaker = stringField(msg, data, 'speaker');
        const said = stringField(msg, data, 'text');
        if (speaker === undefined || said === undefined || speaker.length > 64 || said.length > MAX_TEXT) {
          return decodeFail('BRIDGE_BAD_FIELD', 'transcript needs "speaker" and "text" strings', type);
        }
        const start = numberField(msg, data, 'start');
        const end = numberField(msg, data, 'end');
        return decodeOk({ kind: 'transcript', entry: { speaker, text: said, ...(start !== undefined ? { start } : {}), ...(end !== undefined ? { end } : {}) } });
      }
      default:
        return decodeFail('BRIDGE_UNKNOWN_TYPE', `unknown message type ${JSON.stringify(type.slice(0, 64))}`, type.slice(0, 64));
    }
  }

  private decodeAudio(msg: JsonObject, data: JsonObject | undefined): AiDecodeResult {
    const b64 = stringField(msg, data, 'audio');
    if (b64 === undefined) return decodeFail('BRIDGE_BAD_FIELD', 'audio_data needs an "audio" base64 string', 'audio_data');
    const bytes = decodeBase64(b64, this.scratch);
    if (bytes === undefined) return decodeFail('BRIDGE_BAD_FIELD', '"audio" is not valid base64', 'audio_data');
    const encoding = audioEncoding(stringField(msg, data, 'encoding'));
    if (encoding === undefined) return decodeFail('BRIDGE_BAD_FIELD', '"encoding" must be pcm16 or mulaw', 'audio_data');
    const rate = numberField(msg, data, 'sample_rate') ?? (encoding === 'mulaw' ? 8000 : this.wireRate);
    if (!AI_AUDIO_RATES.includes(rate)) {
      return decodeFail('BRIDGE_BAD_FIELD', `"sample_rate" must be one of ${AI_AUDIO_RATES.join(', ')}`, 'audio_data');
    }
    return decodeOk({ kind: 'audio', encoding, bytes, sampleRate: rate });
  }

  resetUplink(): void {
    this.uplink.reset();
  }
}
