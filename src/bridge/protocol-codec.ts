import type { BridgeDtmfEvent, BridgeMarkEvent } from './bridge-call-port';
import type { AiDecodeResult, AiMessageError } from './ai-command';

/** Wire protocols the bridge speaks (AI_PROTOCOL, or per number). */
export type AiProtocolName = 'native' | 'twilio' | 'jambonz';

export const AI_PROTOCOL_NAMES: readonly AiProtocolName[] = ['native', 'twilio', 'jambonz'];

/** An SMS received for the number the call is on, forwarded to the AI (native protocol only). */
export interface BridgeSmsNotice {
  messageId: string;
  from: string;
  to: string;
  text: string;
}

/** A message to put on the socket: text frame (string) or binary frame (Buffer). */
export type WireMessage = string | Buffer;

/**
 * One call's translation between bridge events and a wire protocol. Instances are per call: they hold the uplink
 * resampler, sequence counters and stream ids. Encoders return null when the protocol has no such message.
 * Decoders never throw.
 */
export interface ProtocolCodec {
  readonly protocol: AiProtocolName;
  /** WebSocket subprotocol to request (RFC 6455 §1.9), if the protocol defines one. */
  readonly subprotocol: string | undefined;
  /** Sample rate of PCM audio on the wire (both directions unless a message says otherwise). */
  readonly wireRate: number;
  /**
   * WebSocket frame type of {@link encodeAudio}'s messages (RFC 6455 §5.6): `text` for JSON, also when it comes as
   * a Buffer of UTF-8 bytes (built without an intermediate string), `binary` for raw audio.
   */
  readonly audioFrames: 'text' | 'binary';
  /** Messages that open a connection (call_start; Twilio connected + start; jambonz metadata). */
  openMessages(resumed: boolean): WireMessage[];
  /**
   * One 20 ms caller frame (160 samples, 8 kHz). `seq` counts frames from 0 since the call started (a gap means
   * frames were dropped); `wallMs` is when the frame was captured. Buffer results (text or binary frames) may view a
   * reused buffer: send them before the next call. (With no extension negotiated, ws frames a Buffer within send()
   * and, as a client, masks it into a buffer of its own, RFC 6455 §5.3; the session never lets the key be zero.)
   */
  encodeAudio(frame: Int16Array, seq: number, wallMs: number): WireMessage;
  encodeDtmf(event: BridgeDtmfEvent, wallMs: number): WireMessage | null;
  encodeMark(name: string, event: BridgeMarkEvent): WireMessage | null;
  /** jambonz `playDone` after a non-streaming playAudio. */
  encodePlayDone(id: string | null): WireMessage | null;
  encodeEnd(reason: string, durationS: number): WireMessage | null;
  encodeError(error: AiMessageError): WireMessage | null;
  encodeSms(sms: BridgeSmsNotice, wallMs: number): WireMessage | null;
  decodeText(text: string): AiDecodeResult;
  /**
   * A text frame as received (UTF-8 bytes, already validated by the WebSocket layer, RFC 6455 §8.1): the same result
   * as decodeText of its text, but the audio messages of the protocol may be read without building the string.
   * Audio bytes in the result may view a reused buffer, valid until the next call.
   */
  decodeTextFrame(bytes: Buffer): AiDecodeResult;
  decodeBinary(bytes: Buffer): AiDecodeResult;
  /** Forget uplink filter history (a new connection starts a new stream). */
  resetUplink(): void;
}
