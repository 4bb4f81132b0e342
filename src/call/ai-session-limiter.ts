import { TypedEmitter } from '../util';
import type { CallApp, CallAppContext } from './call-app';

export interface AiSessionLimiterEvents {
  [event: string]: unknown[];
  /** A session ended: a queue may hand its next caller to the AI. */
  release: [active: number];
}

/**
 * The AI platform's concurrent-session limit (AI_MAX_SESSIONS) on this instance. Every AI session counts: calls
 * routed to `ai` directly (through `wrap`) and callers a queue hands to an AI target (`tryAcquire`). Queues take a
 * caller for the AI only while a slot is free, and retry on `release`.
 */
export class AiSessionLimiter extends TypedEmitter<AiSessionLimiterEvents> {
  private active = 0;
  private readonly holders = new Set<string>();

  /** `limit` 0 = no limit. */
  constructor(private limit: number) {
    super();
    if (!Number.isInteger(limit) || limit < 0) throw new TypeError(`AI session limit must be a non-negative integer, got ${limit}`);
  }

  get max(): number {
    return this.limit;
  }

  get inUse(): number {
    return this.active;
  }

  /** Free slots (Infinity without a limit). */
  get available(): number {
    return this.limit === 0 ? Infinity : Math.max(0, this.limit - this.active);
  }

  /** Change the limit at run time (sessions above it finish normally). */
  setLimit(limit: number): void {
    if (!Number.isInteger(limit) || limit < 0) throw new TypeError(`AI session limit must be a non-negative integer, got ${limit}`);
    const grew = limit === 0 || limit > this.limit;
    this.limit = limit;
    if (grew) this.safeEmit('release', this.active);
  }

  /** Take a slot for call `callId`; false when none is free or the call already holds one. */
  tryAcquire(callId: string): boolean {
    if (this.holders.has(callId) || this.available < 1) return false;
    this.holders.add(callId);
    this.active++;
    return true;
  }

  /** Give the slot of `callId` back (idempotent). */
  release(callId: string): void {
    if (!this.holders.delete(callId)) return;
    this.active--;
    this.safeEmit('release', this.active);
  }

  holds(callId: string): boolean {
    return this.holders.has(callId);
  }

  /**
   * The AI app with sessions counted: a call routed to the AI takes a slot (over the limit it still runs: the
   * number's route says AI, and refusing is the platform's call), released when the call ends.
   */
  wrap(app: CallApp): CallApp {
    const start = (ctx: CallAppContext): void | Promise<void> => {
      if (!this.holders.has(ctx.callId)) {
        this.holders.add(ctx.callId);
        this.active++;
      }
      ctx.onEnd(() => this.release(ctx.callId));
      return app.start(ctx);
    };
    return { side: app.side, prepare: app.prepare?.bind(app), start };
  }
}
