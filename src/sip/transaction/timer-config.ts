/**
 * RFC 3261 §17.1.1.1 / Table 4 timer values. T1 is the RTT estimate, T2 the maximum retransmit interval for
 * non-INVITE requests and INVITE responses, T4 the maximum time a message stays in the network.
 */
export interface TimerConfig {
  /** RTT estimate, default 500 ms (RFC 3261 §17.1.1.1). */
  readonly T1: number;
  /** Maximum retransmit interval for non-INVITE requests and INVITE final responses, default 4 s. */
  readonly T2: number;
  /** Maximum duration a message remains in the network, default 5 s. */
  readonly T4: number;
  /**
   * RFC 3261 §17.2.1: the INVITE server transaction sends 100 (Trying) if the TU has not answered within 200 ms.
   * A TU that answers synchronously in `onRequest` never causes a 100.
   */
  readonly tryingDelayMs: number;
  /** RFC 3261 §17.1.1.2: Timer D is "at least 32 seconds" on unreliable transports. */
  readonly timerDUnreliableMs: number;
}

export const DEFAULT_TIMER_CONFIG: TimerConfig = {
  T1: 500,
  T2: 4000,
  T4: 5000,
  tryingDelayMs: 200,
  timerDUnreliableMs: 32_000,
};

/** RFC 3261 Table 4 / RFC 6026 §8.11 timer names. */
export type SipTimerName =
  | 'TIMER_A'
  | 'TIMER_B'
  | 'TIMER_D'
  | 'TIMER_E'
  | 'TIMER_F'
  | 'TIMER_G'
  | 'TIMER_H'
  | 'TIMER_I'
  | 'TIMER_J'
  | 'TIMER_K'
  | 'TIMER_L'
  | 'TIMER_M'
  | 'TIMER_TRYING';
