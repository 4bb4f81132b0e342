import type { IvrRouteAction } from './ivr-menu';

/** How a prompt ended: played to the end, or cut short (barge-in, stopPlayback, the call ended). */
export type IvrPlaybackEnd = 'finished' | 'interrupted';

/** A value of an IVR event's data (stored as jsonb in call_events). */
export type IvrEventValue = string | number | boolean | null | readonly string[];
export type IvrEventData = Readonly<Record<string, IvrEventValue>>;

/**
 * What the IVR needs from a call; call control implements it over a media session and a dialog, tests
 * with a fake. The IVR never touches SIP or RTP itself.
 */
export interface IvrCallPort {
  /** SIP Call-ID of the caller's leg (events and webhooks carry it). */
  readonly callId: string;
  /**
   * Play a WAV file to the caller. Resolves when it finished or was stopped; rejects only when the file
   * cannot be played (the IVR then goes on without it).
   */
  play(file: string): Promise<IvrPlaybackEnd>;
  /** Stop the prompt being played (barge-in); its `play` promise resolves `interrupted`. */
  stopPlayback(): void;
  /** Subscribe to the caller's DTMF (RFC 4733 events or in-band, already de-duplicated). Returns an unsubscribe function. */
  onDigit(listener: (digit: string) => void): () => void;
  /** End the call. */
  hangup(): void | Promise<void>;
  /** Hand the call over to the AI, a queue, a number or an extension; the IVR is done with it. */
  route(action: IvrRouteAction): void | Promise<void>;
  /** Record one step of the caller's path (call_events), so the path can be read back. */
  event(type: string, data: IvrEventData): void;
}
