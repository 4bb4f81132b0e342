import type { Clock, TimerHandle } from '../../util';
import { InvalidStateError, TypedEmitter } from '../../util';

export type SessionTimerEvents = {
  /** Time to send a session refresh (re-INVITE or UPDATE): this side is the refresher. */
  refresh: [];
  /** No successful refresh within the interval: the session is dead, send BYE (RFC 4028 §10). */
  expired: [];
};

export interface SessionTimerOptions {
  clock: Clock;
  /** Session interval in seconds (the negotiated Session-Expires). */
  interval: number;
  /** True when this side sends the refreshes. */
  localRefresher: boolean;
}

/**
 * RFC 4028 §10 session timer for one dialog, on the injected clock.
 * - Refresher: `refresh` at half the interval.
 * - Both sides: `expired` at interval - min(32, interval/3) seconds after the last refresh unless restarted,
 *   i.e. the BYE goes out before the session expires. For the non-refresher this is "no refresh arrived"; for the
 *   refresher it means its refresh did not succeed in time.
 * Call restart() on every successful refresh (2xx to the re-INVITE/UPDATE, sent or received), with the newly
 * negotiated values when they changed.
 */
export class SessionTimer extends TypedEmitter<SessionTimerEvents> {
  private readonly clock: Clock;
  private intervalValue: number;
  private localRefresherValue: boolean;
  private refreshTimer: TimerHandle | undefined;
  private expiryTimer: TimerHandle | undefined;
  private refreshAtValue: number | undefined;
  private expiresAtValue: number | undefined;
  private closed = false;

  constructor(opts: SessionTimerOptions) {
    super();
    this.clock = opts.clock;
    this.intervalValue = checkInterval(opts.interval);
    this.localRefresherValue = opts.localRefresher;
  }

  get interval(): number {
    return this.intervalValue;
  }
  get localRefresher(): boolean {
    return this.localRefresherValue;
  }
  /** Clock time (ms) of the next `refresh`, when this side refreshes and the timer runs. */
  get refreshAt(): number | undefined {
    return this.refreshAtValue;
  }
  /** Clock time (ms) of `expired` while the timer runs. */
  get expiresAt(): number | undefined {
    return this.expiresAtValue;
  }
  get running(): boolean {
    return this.expiryTimer !== undefined;
  }

  /** RFC 4028 §10: the refresh goes out at half the interval. */
  static refreshDelayMs(interval: number): number {
    return (interval * 1000) / 2;
  }

  /** RFC 4028 §10: the BYE goes out min(32, interval/3) seconds before the session expires. */
  static expiryDelayMs(interval: number): number {
    return (interval - Math.min(32, interval / 3)) * 1000;
  }

  /** Starts (or restarts) the timers from now. */
  start(): void {
    if (this.closed) throw new InvalidStateError('session timer stopped');
    this.clearTimers();
    const now = this.clock.now();
    if (this.localRefresherValue) {
      const delay = SessionTimer.refreshDelayMs(this.intervalValue);
      this.refreshAtValue = now + delay;
      this.refreshTimer = this.clock.setTimeout(this.onRefresh, delay);
    }
    const expiry = SessionTimer.expiryDelayMs(this.intervalValue);
    this.expiresAtValue = now + expiry;
    this.expiryTimer = this.clock.setTimeout(this.onExpiry, expiry);
  }

  /** A refresh succeeded: start over, optionally with a renegotiated interval and refresher. */
  restart(interval?: number, localRefresher?: boolean): void {
    if (interval !== undefined) this.intervalValue = checkInterval(interval);
    if (localRefresher !== undefined) this.localRefresherValue = localRefresher;
    this.start();
  }

  /** Stops for good (dialog ended, or the re-negotiation dropped the session timer). */
  stop(): void {
    this.closed = true;
    this.clearTimers();
  }

  private readonly onRefresh = (): void => {
    this.refreshTimer = undefined;
    this.refreshAtValue = undefined;
    this.safeEmit('refresh');
  };

  private readonly onExpiry = (): void => {
    this.expiryTimer = undefined;
    this.expiresAtValue = undefined;
    this.clock.clearTimeout(this.refreshTimer);
    this.refreshTimer = undefined;
    this.refreshAtValue = undefined;
    this.safeEmit('expired');
  };

  private clearTimers(): void {
    this.clock.clearTimeout(this.refreshTimer);
    this.clock.clearTimeout(this.expiryTimer);
    this.refreshTimer = undefined;
    this.expiryTimer = undefined;
    this.refreshAtValue = undefined;
    this.expiresAtValue = undefined;
  }
}

function checkInterval(interval: number): number {
  if (!Number.isFinite(interval) || interval <= 0) throw new TypeError(`session interval must be a positive number of seconds, got ${interval}`);
  return interval;
}
