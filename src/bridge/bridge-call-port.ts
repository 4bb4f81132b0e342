import type { DtmfDigit } from '../dsp';

/** Who placed the call, seen from this server: `inbound` = the caller dialled one of our numbers. */
export type BridgeCallDirection = 'inbound' | 'outbound';

/** How a DTMF digit reached us (RFC 4733 telephone-event, in-band tones, or SIP INFO). */
export type BridgeDtmfSource = 'rfc4733' | 'inband' | 'info';

/** A key press reported by the media layer. */
export interface BridgeDtmfEvent {
  digit: DtmfDigit;
  source: BridgeDtmfSource;
  durationMs: number;
}

/** Outcome of a mark: the audio queued before it was sent (`played`) or dropped by a barge-in (`cleared`). */
export type BridgeMarkEvent = 'played' | 'cleared';

/** `blind` = REFER to the target and leave (RFC 3515); `attended` = consult the target first (RFC 5589 §7). */
export type BridgeTransferType = 'blind' | 'attended';

/** A transcript line the AI reports, stored with the call. */
export interface BridgeTranscriptEntry {
  speaker: string;
  text: string;
  /** Seconds from the start of the call, when the AI gives them. */
  start?: number;
  end?: number;
}

/** What the bridge knows of the call when it connects. */
export interface BridgeCallInfo {
  /** Our call id (the SIP Call-ID of the inbound leg): the correlation key the AI sees as `call_id`. */
  readonly callId: string;
  readonly from: string;
  readonly to: string;
  readonly direction: BridgeCallDirection;
  /** Codec negotiated with the caller (`PCMU`, `PCMA`): informational, the bridge always gets PCM16. */
  readonly codec: string;
  /** Per-number custom parameters, passed to the AI untouched (Twilio `customParameters`, jambonz metadata). */
  readonly customParameters: Readonly<Record<string, string>>;
}

/** Unsubscribe function returned by the port's `on...` registrations. */
export type Unsubscribe = () => void;

/**
 * What the bridge needs from a call. Call control implements it over its media session; the bridge never sees SIP.
 *
 * Audio towards the AI arrives as PCM16 8 kHz mono 20 ms frames (160 samples). The Int16Array handed to the
 * frame callback may be a reused buffer: the bridge copies what it keeps. Audio from the AI goes back through
 * `enqueuePcm` (any length, 8 kHz), which the media layer paces at real time on its 20 ms clock.
 */
export interface BridgeCallPort {
  readonly info: BridgeCallInfo;
  /** Caller audio, one 20 ms frame per call (160 samples at 8 kHz). */
  onFrame(cb: (frame: Int16Array) => void): Unsubscribe;
  /** Each key press once (the media layer merges RFC 4733 and in-band reports of the same press). */
  onDtmf(cb: (event: BridgeDtmfEvent) => void): Unsubscribe;
  /** Queue PCM16 8 kHz for the caller; the media layer copies it. Returns false if its queue refused it (full). */
  enqueuePcm(pcm: Int16Array): boolean;
  /** Drop all queued audio at once (barge-in); pending marks complete with `cleared`. */
  clearQueue(): void;
  /** Call `cb` once the audio queued so far has been sent (`played`) or cleared. */
  mark(name: string, cb: (event: BridgeMarkEvent) => void): void;
  hangup(reason: string): void;
  transfer(target: string, type: BridgeTransferType): void;
  /** Send digits to the caller (RFC 4733 events, or in-band when not negotiated). */
  sendDtmf(digits: string): void;
  hold(): void;
  resume(): void;
  /** Play a prompt (a file under the prompts directory, or an http(s) URL of a WAV file). */
  play(fileOrUrl: string): void;
  recordStart(): void;
  recordStop(): void;
  transcript(entry: BridgeTranscriptEntry): void;
}
