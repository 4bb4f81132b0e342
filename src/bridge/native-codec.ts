import type { BridgeCallInfo, BridgeDtmfEvent, BridgeMarkEvent, BridgeTransferType } from './bridge-call-port';
import { AiAudioEncoding, AiDecodeResult, AiMessageError, decodeFail, decodeOk } from './ai-command';
import { decodeBase64, isObject, JsonObject, numberField, parseJson, stringField } from './json-fields';
import type { BridgeSmsNotice, ProtocolCodec, WireMessage } from './protocol-codec';
import { UplinkConverter } from './uplink-converter';

/** Rates the native protocol streams caller audio at (8 kHz telephone band, or wideband when the number asks). */
export const NATIVE_UPLINK_RATES: readonly number[] = [8000, 16000, 24000];

/** Rates we accept AI audio at (it is resampled to 8 kHz for the caller). */
export const AI_AUDIO_RATES: readonly number[] = [8000, 16000, 22050, 24000, 32000, 44100, 48000];

const MAX_MARK_NAME = 256;
const MAX_TEXT = 16_384;
const DTMF_DIGITS = /^[0-9A-D*#]{1,64}$/;

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
  /** `{"type":"audio_data","data":{"call_id":<id>,"audio":"` as UTF-8 bytes. */
  private readonly audioPrefix: Buffer;
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
    this.audioPrefix = Buffer.from(`{"type":"audio_data","data":{"call_id":${this.callIdJson},"audio":"`, 'utf8');
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

  /** One audio_data message as UTF-8 bytes (sent as a text frame: {@link audioFrames}). */
  encodeAudio(frame: Int16Array, seq: number, wallMs: number): WireMessage {
    // Hot path (50 per second per call): the bytes are assembled directly (prefix built once, base64 of the sample
    // bytes, the tail), so the socket gets one buffer with no JSON object graph and no string re-encoded to UTF-8.
    const audio = this.uplink.convert(frame).toString('base64');
    const tail = `","timestamp":${epochSeconds(wallMs)},"seq":${seq}}}`;
    const prefix = this.audioPrefix;
    const out = Buffer.allocUnsafe(prefix.length + audio.length + tail.length);
    prefix.copy(out, 0);
    const at = prefix.length + out.write(audio, prefix.length, 'latin1');
    out.write(tail, at, 'latin1');
    return out;
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
