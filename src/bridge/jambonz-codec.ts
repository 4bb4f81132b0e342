import type { BridgeCallInfo, BridgeDtmfEvent, BridgeMarkEvent } from './bridge-call-port';
import { AiDecodeResult, decodeFail, decodeOk } from './ai-command';
import { AI_AUDIO_RATES } from './native-codec';
import { decodeBase64, isObject, JsonObject, numberField, parseJson, stringField } from './json-fields';
import type { ProtocolCodec, WireMessage } from './protocol-codec';
import { UplinkConverter } from './uplink-converter';

/** The WebSocket subprotocol of jambonz's `listen` verb (docs.jambonz.org, verbs/listen). */
export const JAMBONZ_SUBPROTOCOL = 'audio.jambonz.org';

/** Rates jambonz `listen` streams at (its `sampleRate` option) that we can produce from 8 kHz. */
export const JAMBONZ_UPLINK_RATES: readonly number[] = [8000, 16000, 24000, 48000, 64000];

const MAX_MARK_NAME = 256;

/**
 * jambonz `listen` with bidirectional streaming audio, as its FreeSWITCH module mod_audio_fork speaks it:
 *
 * - First a text frame of call metadata: the call attributes jambonz sends on webhooks (callSid, callId, from, to,
 *   direction, ...) plus `sampleRate` and `mixType`, with the listen `metadata` merged in (here: the number's custom
 *   parameters). After that, caller audio as binary frames of raw L16 PCM, little-endian, mono, at `sampleRate`.
 * - DTMF (listen `passDtmf`) as text `{"event": "dtmf", "dtmf": digit, "duration": ...}`; FreeSWITCH reports the
 *   duration in samples at 8 kHz, so we do too.
 * - From the app: binary L16 frames at the bidirectional sample rate (streamed to the caller; an odd trailing byte is
 *   carried into the next frame), `playAudio` {data: {audioContent base64, audioContentType raw|wav|wave,
 *   sampleRate}} answered with `playDone` once played, `killAudio` (stop playout, flush buffered audio), `mark`
 *   {data: {name}} answered `{"type": "mark", "data": {"name", "event": "playout"|"cleared"}}`, `clearMarks`, and
 *   `disconnect` (end the stream).
 */
export class JambonzCodec implements ProtocolCodec {
  readonly protocol = 'jambonz' as const;
  readonly subprotocol = JAMBONZ_SUBPROTOCOL;
  readonly wireRate: number;
  readonly audioFrames = 'binary' as const;
  private readonly uplink: UplinkConverter;

  constructor(
    private readonly call: BridgeCallInfo,
    sampleRate = 8000,
  ) {
    if (!JAMBONZ_UPLINK_RATES.includes(sampleRate)) {
      throw new TypeError(`jambonz sample rate must be one of ${JAMBONZ_UPLINK_RATES.join(', ')}, got ${sampleRate}`);
    }
    this.wireRate = sampleRate;
    this.uplink = new UplinkConverter(sampleRate);
  }

  openMessages(resumed: boolean): WireMessage[] {
    const c = this.call;
    // jambonz merges the listen verb's metadata over the call attributes (Object.assign order in its listen task).
    const meta: JsonObject = {
      sampleRate: this.wireRate,
      mixType: 'mono',
      callSid: c.callId,
      callId: c.callId,
      from: c.from,
      to: c.to,
      direction: c.direction,
      callStatus: 'in-progress',
      ...c.customParameters,
    };
    if (resumed) meta.resumed = true;
    return [JSON.stringify(meta)];
  }

  encodeAudio(frame: Int16Array): WireMessage {
    return this.uplink.convert(frame);
  }

  encodeDtmf(event: BridgeDtmfEvent): WireMessage {
    return JSON.stringify({ event: 'dtmf', dtmf: event.digit, duration: Math.round(event.durationMs * 8) });
  }

  encodeMark(name: string, event: BridgeMarkEvent): WireMessage {
    return JSON.stringify({ type: 'mark', data: { name, event: event === 'played' ? 'playout' : 'cleared' } });
  }

  encodePlayDone(id: string | null): WireMessage {
    return JSON.stringify(id === null ? { type: 'playDone' } : { type: 'playDone', data: { id } });
  }

  /** The stream simply closes when the call ends; there is no stop message. */
  encodeEnd(): WireMessage | null {
    return null;
  }

  /** jambonz defines no error message towards the app; bad messages are counted and dropped. */
  encodeError(): WireMessage | null {
    return null;
  }

  encodeSms(): WireMessage | null {
    return null;
  }

  decodeBinary(bytes: Buffer): AiDecodeResult {
    return decodeOk({ kind: 'audio', encoding: 'pcm16', bytes, sampleRate: this.wireRate });
  }

  decodeTextFrame(bytes: Buffer): AiDecodeResult {
    return this.decodeText(bytes.toString('utf8'));
  }

  decodeText(text: string): AiDecodeResult {
    const parsed = parseJson(text);
    if (!parsed.ok) return decodeFail('BRIDGE_MALFORMED_JSON', `message is not valid JSON: ${parsed.message}`);
    const msg = parsed.value;
    if (!isObject(msg)) return decodeFail('BRIDGE_NOT_AN_OBJECT', 'message must be a JSON object');
    const type = msg.type;
    if (typeof type !== 'string') return decodeFail('BRIDGE_BAD_FIELD', 'missing string field "type"');
    const data = isObject(msg.data) ? msg.data : undefined;
    switch (type) {
      case 'playAudio': {
        if (data === undefined) return decodeFail('BRIDGE_BAD_FIELD', 'playAudio needs a data object', type);
        const content = stringField(msg, data, 'audioContent');
        const bytes = content === undefined ? undefined : decodeBase64(content);
        if (bytes === undefined) return decodeFail('BRIDGE_BAD_FIELD', 'playAudio needs data.audioContent (base64)', type);
        const contentType = stringField(msg, data, 'audioContentType') ?? 'raw';
        const idValue = data.id;
        const playId = typeof idValue === 'string' ? idValue : typeof idValue === 'number' ? String(idValue) : null;
        if (contentType === 'wav' || contentType === 'wave') {
          return decodeOk({ kind: 'audio', encoding: 'wav', bytes, sampleRate: 0, playId });
        }
        if (contentType !== 'raw') return decodeFail('BRIDGE_BAD_FIELD', 'audioContentType must be raw, wav or wave', type);
        const rate = numberField(msg, data, 'sampleRate') ?? this.wireRate;
        if (!AI_AUDIO_RATES.includes(rate) && rate !== 64000) {
          return decodeFail('BRIDGE_BAD_FIELD', `unsupported sampleRate ${rate}`, type);
        }
        return decodeOk({ kind: 'audio', encoding: 'pcm16', bytes, sampleRate: rate, playId });
      }
      case 'killAudio':
        return decodeOk({ kind: 'clear' });
      case 'mark': {
        const name = data === undefined ? undefined : stringField(msg, data, 'name');
        if (name === undefined || name.length === 0 || name.length > MAX_MARK_NAME) return decodeFail('BRIDGE_BAD_FIELD', 'mark needs data.name', type);
        return decodeOk({ kind: 'mark', name });
      }
      case 'clearMarks':
        return decodeOk({ kind: 'clearMarks' });
      case 'disconnect':
        return decodeOk({ kind: 'hangup', reason: 'ai-disconnect' });
      default:
        return decodeFail('BRIDGE_UNKNOWN_TYPE', `unknown message type ${JSON.stringify(type.slice(0, 64))}`, type.slice(0, 64));
    }
  }

  resetUplink(): void {
    this.uplink.reset();
  }
}
