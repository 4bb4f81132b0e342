import { SEQ_MASK, SEQ_MOD } from './seq';

/** RFC 3550 A.1 constants. */
export const MIN_SEQUENTIAL = 2;
export const MAX_DROPOUT = 3000;
export const MAX_MISORDER = 100;

/** Outcome of feeding one sequence number to {@link RtpSequenceValidator.update}. */
export type SeqUpdateResult =
  /** In order (possibly after a gap): counts as received. */
  | 'ok'
  /** Still in probation: not yet a valid source (RFC 3550 A.1 `probation`). */
  | 'probation'
  /** Duplicate or reordered packet within MAX_MISORDER: counts as received, not a new maximum. */
  | 'misordered'
  /** Large jump not (yet) confirmed by a following packet: drop it. */
  | 'bad'
  /** The large jump was confirmed: the source restarted its sequence; state was reset. */
  | 'restarted';

/**
 * RTP sequence validation and loss accounting of RFC 3550 Appendix A.1 (pjmedia `pjmedia_rtp_seq_update`):
 * a source is valid after MIN_SEQUENTIAL packets in sequence; jumps of up to MAX_DROPOUT count as loss,
 * small steps back as misorder, and anything else is "bad" until the next packet confirms a restart.
 */
export class RtpSequenceValidator {
  /** Highest sequence number seen (low 16 bits). */
  maxSeq = 0;
  /** Count of sequence-number wraps, shifted: the high 16 bits of the extended sequence number. */
  cycles = 0;
  /** First extended sequence number of the current stream (RFC 3550 `base_seq`). */
  baseSeq = 0;
  /** Last "bad" sequence number + 1 (RFC 3550 `bad_seq`). */
  badSeq = SEQ_MOD + 1;
  /** Remaining packets before the source is valid. */
  probation = MIN_SEQUENTIAL;
  /** Packets counted as received (RFC 3550 `received`). */
  received = 0;
  /** Values of `expected`/`received` at the last report, for the fraction lost (A.3). */
  expectedPrior = 0;
  receivedPrior = 0;
  private started = false;

  /** True once at least one packet has been seen. */
  get initialised(): boolean {
    return this.started;
  }

  /** Forget everything (new source). */
  reset(): void {
    this.started = false;
    this.maxSeq = 0;
    this.cycles = 0;
    this.baseSeq = 0;
    this.badSeq = SEQ_MOD + 1;
    this.probation = MIN_SEQUENTIAL;
    this.received = 0;
    this.expectedPrior = 0;
    this.receivedPrior = 0;
  }

  /** RFC 3550 A.1 `init_seq`. */
  init(seq: number): void {
    this.baseSeq = seq;
    this.maxSeq = seq;
    this.badSeq = SEQ_MOD + 1;
    this.cycles = 0;
    this.received = 0;
    this.receivedPrior = 0;
    this.expectedPrior = 0;
    this.started = true;
  }

  /** RFC 3550 A.1 `update_seq`. */
  update(seq: number): SeqUpdateResult {
    if (!this.started) {
      this.init(seq);
      this.maxSeq = (seq - 1) & SEQ_MASK;
      this.probation = MIN_SEQUENTIAL;
    }
    const udelta = (seq - this.maxSeq) & SEQ_MASK;
    if (this.probation > 0) {
      // Source is not valid until MIN_SEQUENTIAL packets with sequential numbers have been received.
      if (seq === ((this.maxSeq + 1) & SEQ_MASK)) {
        this.probation--;
        this.maxSeq = seq;
        if (this.probation === 0) {
          this.init(seq);
          this.received++;
          return 'ok';
        }
      } else {
        this.probation = MIN_SEQUENTIAL - 1;
        this.maxSeq = seq;
      }
      return 'probation';
    }
    if (udelta < MAX_DROPOUT) {
      // In order, with permissible gap.
      if (seq < this.maxSeq) this.cycles += SEQ_MOD; // sequence number wrapped
      this.maxSeq = seq;
      this.received++;
      return 'ok';
    }
    if (udelta <= SEQ_MOD - MAX_MISORDER) {
      // The sequence number made a very large jump.
      if (seq === this.badSeq) {
        // Two sequential packets: assume the other side restarted without telling us, so just re-sync.
        this.init(seq);
        this.received++;
        return 'restarted';
      }
      this.badSeq = (seq + 1) & SEQ_MASK;
      return 'bad';
    }
    // Duplicate or reordered packet.
    this.received++;
    return 'misordered';
  }

  /** Extended highest sequence number received (RFC 3550 §6.4.1). */
  get extendedMax(): number {
    return this.cycles + this.maxSeq;
  }

  /** Packets expected since the stream began (RFC 3550 A.3). */
  get expected(): number {
    return this.started ? this.extendedMax - this.baseSeq + 1 : 0;
  }

  /** Cumulative packets lost; negative when duplicates outnumber losses (RFC 3550 A.3). */
  get lost(): number {
    return this.expected - this.received;
  }

  /**
   * Fraction lost since the previous call, as the 8-bit fixed-point value of the report block
   * (RFC 3550 A.3); advances the "prior" snapshot.
   */
  takeFractionLost(): number {
    const expected = this.expected;
    const expectedInterval = expected - this.expectedPrior;
    this.expectedPrior = expected;
    const receivedInterval = this.received - this.receivedPrior;
    this.receivedPrior = this.received;
    const lostInterval = expectedInterval - receivedInterval;
    if (expectedInterval === 0 || lostInterval <= 0) return 0;
    return Math.min(255, Math.floor((lostInterval * 256) / expectedInterval));
  }
}
