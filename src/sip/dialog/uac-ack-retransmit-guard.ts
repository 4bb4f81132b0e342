import type { SipRequest, SipResponse } from '../message';
import type { Clock, TimerHandle } from '../../util';
import { checkTimerValue, DEFAULT_T1_MS, sixtyFourT1 } from './dialog-timers';

export interface UacAckRetransmitGuardOptions {
  clock: Clock;
  /** RFC 3261 T1 in ms; default 500. */
  t1?: number;
}

interface Entry {
  ack: SipRequest;
  timer: TimerHandle;
  dialog: string;
}

/**
 * RFC 3261 §13.2.2.4: 2xx responses to INVITE are retransmitted by the UAS core until it sees the ACK, and the
 * client transaction is gone by then, so the UAC core answers each retransmitted 2xx with the same ACK it sent
 * for the first one. This keeps the ACKs sent in the last 64*T1 keyed by (Call-ID, From tag, To tag, CSeq
 * number), the identity of a 2xx, and forgets them after that (the UAS has stopped retransmitting by then).
 */
export class UacAckRetransmitGuard {
  private readonly clock: Clock;
  private readonly ttl: number;
  private readonly entries = new Map<string, Entry>();
  /** dialog prefix -> keys of its entries, so ending a dialog does not scan every entry. */
  private readonly byDialog = new Map<string, Set<string>>();

  constructor(opts: UacAckRetransmitGuardOptions) {
    this.clock = opts.clock;
    this.ttl = sixtyFourT1(checkTimerValue('t1', opts.t1 ?? DEFAULT_T1_MS));
  }

  /** ACKs remembered. */
  get size(): number {
    return this.entries.size;
  }

  /** Remember `ack` (just sent for a 2xx) for 64*T1. A later ACK for the same 2xx replaces it. */
  remember(ack: SipRequest): void {
    let dialog: string;
    let key: string;
    try {
      dialog = dialogPrefix(ack.callId, ack.fromTag, ack.toTag);
      key = dialog + String(ack.cseq.seq);
    } catch {
      throw new TypeError('the ACK lacks a readable Call-ID, From, To or CSeq');
    }
    const previous = this.entries.get(key);
    if (previous) this.clock.clearTimeout(previous.timer);
    const timer = this.clock.setTimeout(() => {
      if (this.entries.get(key)?.timer === timer) this.delete(key, dialog);
    }, this.ttl);
    this.entries.set(key, { ack, timer, dialog });
    let keys = this.byDialog.get(dialog);
    if (!keys) this.byDialog.set(dialog, (keys = new Set()));
    keys.add(key);
  }

  /**
   * The ACK to re-send for `response` when it is a retransmitted 2xx to an INVITE we already acknowledged;
   * undefined otherwise (including unreadable responses).
   */
  ackFor(response: SipResponse): SipRequest | undefined {
    if (response.status < 200 || response.status >= 300) return undefined;
    try {
      const cseq = response.cseq;
      if (cseq.method !== 'INVITE') return undefined;
      return this.entries.get(dialogPrefix(response.callId, response.fromTag, response.toTag) + String(cseq.seq))?.ack;
    } catch {
      return undefined;
    }
  }

  /** Forget every ACK of a dialog (call it when the dialog ends). */
  forgetDialog(callId: string, localTag: string, remoteTag: string): void {
    const dialog = dialogPrefix(callId, localTag, remoteTag);
    const keys = this.byDialog.get(dialog);
    if (!keys) return;
    for (const key of keys) {
      const entry = this.entries.get(key);
      if (entry) this.clock.clearTimeout(entry.timer);
      this.entries.delete(key);
    }
    this.byDialog.delete(dialog);
  }

  /** Drop everything and cancel the timers. */
  clear(): void {
    for (const entry of this.entries.values()) this.clock.clearTimeout(entry.timer);
    this.entries.clear();
    this.byDialog.clear();
  }

  private delete(key: string, dialog: string): void {
    this.entries.delete(key);
    const keys = this.byDialog.get(dialog);
    if (!keys) return;
    keys.delete(key);
    if (keys.size === 0) this.byDialog.delete(dialog);
  }
}

/** (Call-ID, From tag, To tag) of an ACK or of the 2xx it answers; a missing tag is the RFC 2543 null tag. */
function dialogPrefix(callId: string, fromTag: string | undefined, toTag: string | undefined): string {
  return `${callId}\u0000${fromTag ?? ''}\u0000${toTag ?? ''}\u0000`;
}
