import type { BridgeTransferType, BridgeTranscriptEntry } from './bridge-call-port';

/** Encoding of audio the AI sends: PCM16 little-endian, G.711 mu-law, or a whole WAV file (jambonz playAudio). */
export type AiAudioEncoding = 'pcm16' | 'mulaw' | 'wav';

/** Audio from the AI for the caller. `bytes` may view a reused or socket-owned buffer: convert before returning. */
export interface AiAudioCommand {
  kind: 'audio';
  encoding: AiAudioEncoding;
  bytes: Uint8Array;
  /** Sample rate of `bytes` (ignored for `wav`, whose header says it). */
  sampleRate: number;
  /** Set for jambonz `playAudio`: report `playDone` with this id (may be null) once it has played. */
  playId?: string | null;
}

/** What an AI message asks the bridge to do, whatever the wire protocol. */
export type AiCommand =
  | AiAudioCommand
  | { kind: 'clear' }
  | { kind: 'mark'; name: string }
  | { kind: 'clearMarks' }
  | { kind: 'hangup'; reason: string }
  | { kind: 'transfer'; target: string; type: BridgeTransferType }
  | { kind: 'sendDtmf'; digits: string }
  | { kind: 'hold' }
  | { kind: 'resume' }
  | { kind: 'play'; source: string }
  | { kind: 'recordStart' }
  | { kind: 'recordStop' }
  | { kind: 'transcript'; entry: BridgeTranscriptEntry }
  /** A well-formed message with nothing for us to do (keep-alives, informational events). */
  | { kind: 'ignored' };

/** Stable codes of AI messages we refuse; sent back to the AI in native mode and counted in every mode. */
export type AiMessageErrorCode =
  | 'BRIDGE_MALFORMED_JSON'
  | 'BRIDGE_NOT_AN_OBJECT'
  | 'BRIDGE_UNKNOWN_TYPE'
  | 'BRIDGE_BAD_FIELD'
  | 'BRIDGE_CALL_ID_MISMATCH'
  | 'BRIDGE_UNEXPECTED_BINARY'
  | 'BRIDGE_MESSAGE_TOO_LARGE'
  /** The message was valid but the call could not carry it out (e.g. the playout queue refused audio). */
  | 'BRIDGE_ACTION_FAILED';

export interface AiMessageError {
  code: AiMessageErrorCode;
  message: string;
  /** The message type, when it could be read. */
  type?: string;
}

/** Result of decoding one WebSocket message from the AI. Decoders never throw. */
export type AiDecodeResult = { ok: true; command: AiCommand } | { ok: false; error: AiMessageError };

export function decodeOk(command: AiCommand): AiDecodeResult {
  return { ok: true, command };
}

export function decodeFail(code: AiMessageErrorCode, message: string, type?: string): AiDecodeResult {
  return { ok: false, error: type === undefined ? { code, message } : { code, message, type } };
}
