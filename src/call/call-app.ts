import type { MediaSession } from '../media';
import type { CdrDirection } from './call-store';
import type { RouteSpec } from './route-spec';
import type { DtmfSource } from './sip-leg';

/** `blind`: REFER (or re-route) to the target and leave; `attended`: `target` is another active call to join. */
export type TransferMode = 'blind' | 'attended';

/**
 * What an application running on a call (AI bridge, IVR, queue) gets: the call's identity, the A-leg's media
 * session (frames, play, enqueuePcm, marks, recording), and call control. Handed over once the call is answered.
 */
export interface CallAppContext {
  readonly callId: string;
  readonly direction: CdrDirection;
  readonly from: string;
  readonly to: string;
  /** Negotiated codec with the party (PCMU/PCMA). */
  readonly codec: string;
  readonly route: RouteSpec;
  readonly media: MediaSession;
  /** Each key press once, whatever carried it (RFC 4733, in-band, SIP INFO). Returns an unsubscribe function. */
  onDtmf(cb: (digit: string, source: DtmfSource, durationMs: number | undefined) => void): () => void;
  /** Called once when the call ends (for any reason). Returns an unsubscribe function. */
  onEnd(cb: (cause: string) => void): () => void;
  /** End the call; `cause` goes to the CDR (side: the app's `side`). */
  hangup(cause?: string): void;
  /** Hand the call to another party (a number or SIP URI). Resolves true once the target answered. */
  transfer(target: string, mode?: TransferMode): Promise<boolean>;
  hold(): Promise<boolean>;
  resume(): Promise<boolean>;
  sendDtmf(digits: string): Promise<void>;
  /** Add an entry to the call's timeline (call_events). */
  note(type: string, data?: Record<string, string | number | boolean | null>): void;
}

/** An application that serves calls routed to it (`ai`, `ivr:<id>`, `queue:<id>`). */
export interface CallApp {
  /** Who ends the call when the app hangs up, for the CDR (`ai` for the AI bridge, `system` otherwise). */
  readonly side?: 'ai' | 'system';
  /**
   * Optional check before the call is answered (e.g. the AI platform is reachable). Resolving false refuses the
   * call with 480 Temporarily Unavailable; the call is still ringing meanwhile.
   */
  prepare?(info: { callId: string; from: string; to: string; route: RouteSpec; direction: CdrDirection }): Promise<boolean>;
  /** The call is answered and its media is live. Errors end the call with cause `app-error`. */
  start(ctx: CallAppContext): void | Promise<void>;
}
