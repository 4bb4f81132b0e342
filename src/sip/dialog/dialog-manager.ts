import type { SipRequest, SipResponse } from '../message';
import type { Clock, TimerHandle } from '../../util';
import { InvalidStateError } from '../../util';
import { Dialog, type DialogCreateErrorCode, type DialogOptions } from './dialog';
import { dialogIdKey, dialogKey, uacDialogIdOf, uasDialogIdOf, type DialogId } from './dialog-id';
import { checkTimerValue, DEFAULT_T1_MS, sixtyFourT1 } from './dialog-timers';

/** Where an incoming request belongs (RFC 3261 §12.2.2). */
export type DialogRequestMatch =
  | { kind: 'dialog'; dialog: Dialog }
  /** No To tag: not a request inside a dialog (a new INVITE, OPTIONS, REGISTER...). */
  | { kind: 'outOfDialog' }
  /**
   * To tag present but no such dialog: answer `status` (481) — except ACK, which is never answered (`answer`
   * false): a stray ACK is dropped.
   */
  | { kind: 'unknown'; status: 481; reason: 'Call/Transaction Does Not Exist'; answer: boolean };

/** What a response to the UAC's dialog-creating INVITE did to the dialogs of that INVITE. */
export type UacInviteOutcome =
  /** 100, or a provisional without To tag, or a late provisional on a confirmed dialog: no dialog change. */
  | { kind: 'none' }
  /** 101-199 with a To tag: an early dialog (new when `created`; forks give one per remote tag). */
  | { kind: 'early'; dialog: Dialog; created: boolean }
  /**
   * 2xx: the dialog is confirmed. `retransmission`: it was already confirmed by this 2xx (re-send the same ACK,
   * RFC 3261 §13.2.2.4). `additional`: another fork already got a 2xx; the UA ACKs this one and ends it with BYE.
   */
  | { kind: 'confirmed'; dialog: Dialog; created: boolean; retransmission: boolean; additional: boolean }
  /** Non-2xx final: every early dialog of the INVITE is terminated (RFC 3261 §12.3, §13.2.2.3). */
  | { kind: 'failed'; terminated: Dialog[] }
  /** The response could not create a dialog (malformed headers). */
  | { kind: 'invalid'; code: DialogCreateErrorCode; message: string };

export type UasDialogResult =
  | { ok: true; dialog: Dialog; created: boolean }
  | { ok: false; code: DialogCreateErrorCode; message: string };

export interface DialogManagerOptions {
  /** Needed to retire the early dialogs of a forked INVITE 64*T1 after its first 2xx; without it they stay until terminated. */
  clock?: Clock;
  /** RFC 3261 T1 in ms; default 500. */
  t1?: number;
  /** Passed to every dialog the manager creates. */
  dialogOptions?: DialogOptions;
}

/** Live dialogs by state, for metrics. */
export interface DialogCounts {
  early: number;
  confirmed: number;
}

/**
 * All dialogs of the UA, keyed by dialog id and indexed by Call-ID. Terminated dialogs leave the maps by
 * themselves (the manager listens to `terminated`).
 */
export class DialogManager {
  private readonly dialogs = new Map<string, Dialog>();
  private readonly byCallIdMap = new Map<string, Dialog[]>();
  private readonly clock: Clock | undefined;
  private readonly forkWindowMs: number;
  private readonly dialogOptions: DialogOptions;
  /** INVITE (Call-ID, local tag, CSeq) -> timer retiring its remaining early dialogs after the first 2xx. */
  private readonly forkTimers = new Map<string, TimerHandle>();
  private createdCount = 0;
  private terminatedCount = 0;

  constructor(opts: DialogManagerOptions = {}) {
    this.clock = opts.clock;
    this.forkWindowMs = sixtyFourT1(checkTimerValue('t1', opts.t1 ?? DEFAULT_T1_MS));
    this.dialogOptions = opts.dialogOptions ?? {};
  }

  /** Live (early + confirmed) dialogs. */
  get size(): number {
    return this.dialogs.size;
  }
  /** Same as size: the active-dialogs gauge. */
  get active(): number {
    return this.dialogs.size;
  }
  /** Dialogs ever added. */
  get createdTotal(): number {
    return this.createdCount;
  }
  /** Dialogs that ended while managed. */
  get terminatedTotal(): number {
    return this.terminatedCount;
  }

  counts(): DialogCounts {
    let early = 0;
    let confirmed = 0;
    for (const d of this.dialogs.values()) {
      if (d.state === 'Early') early++;
      else if (d.state === 'Confirmed') confirmed++;
    }
    return { early, confirmed };
  }

  /** Every live dialog (snapshot). */
  list(): Dialog[] {
    return [...this.dialogs.values()];
  }

  get(id: DialogId): Dialog | undefined {
    return this.dialogs.get(dialogIdKey(id));
  }

  getByKey(key: string): Dialog | undefined {
    return this.dialogs.get(key);
  }

  /** Live dialogs sharing a Call-ID (forks of one INVITE, or both legs when a call loops back). */
  byCallId(callId: string): readonly Dialog[] {
    return this.byCallIdMap.get(callId) ?? EMPTY;
  }

  /**
   * Starts managing `dialog`; it leaves by itself when terminated.
   * @throws InvalidStateError when it is terminated or a dialog with the same id exists.
   */
  add(dialog: Dialog): void {
    if (dialog.state === 'Terminated') throw new InvalidStateError('cannot add a terminated dialog');
    if (this.dialogs.has(dialog.key)) throw new InvalidStateError(`dialog already exists: ${dialog.id.callId}`);
    this.dialogs.set(dialog.key, dialog);
    const list = this.byCallIdMap.get(dialog.id.callId);
    if (list) list.push(dialog);
    else this.byCallIdMap.set(dialog.id.callId, [dialog]);
    this.createdCount++;
    dialog.once('terminated', () => this.detach(dialog, true));
  }

  /** Stops managing `dialog` without terminating it. Returns false when it was not managed. */
  remove(dialog: Dialog): boolean {
    return this.detach(dialog, false);
  }

  /**
   * RFC 3261 §12.2.2: the dialog of an incoming request. Local tag = To tag, remote tag = From tag. A request
   * with a To tag and no matching dialog gets 481 (ACK excepted: never answered).
   */
  matchRequest(req: SipRequest): DialogRequestMatch {
    let hasToTag: boolean;
    try {
      hasToTag = req.toTag !== undefined;
    } catch {
      hasToTag = false;
    }
    if (!hasToTag) return OUT_OF_DIALOG;
    const id = uasDialogIdOf(req);
    const dialog = id ? this.dialogs.get(dialogKey(id.callId, id.localTag, id.remoteTag)) : undefined;
    if (dialog) return { kind: 'dialog', dialog };
    return req.method === 'ACK' ? UNKNOWN_ACK : UNKNOWN;
  }

  /** The dialog a response belongs to, from the UAC's point of view (local = From tag, remote = To tag). */
  matchResponse(res: SipResponse): Dialog | undefined {
    const id = uacDialogIdOf(res);
    return id ? this.dialogs.get(dialogKey(id.callId, id.localTag, id.remoteTag)) : undefined;
  }

  /**
   * UAS: `response` (101-299 with To tag) to the dialog-creating `request` was sent. Creates and adds the dialog
   * (RFC 3261 §12.1.1), or, when it exists already (a 2xx after an early 18x), passes the response to it.
   */
  uasResponseSent(request: SipRequest, response: SipResponse): UasDialogResult {
    let id: DialogId | undefined;
    try {
      const toTag = response.toTag;
      if (toTag !== undefined) id = { callId: request.callId, localTag: toTag, remoteTag: request.fromTag ?? '' };
    } catch {
      return { ok: false, code: 'DIALOG_BAD_HEADER', message: 'unreadable From, To or Call-ID' };
    }
    const existing = id ? this.dialogs.get(dialogIdKey(id)) : undefined;
    if (existing) {
      existing.responseSent(request, response);
      return { ok: true, dialog: existing, created: false };
    }
    const made = Dialog.fromUasResponse(request, response, this.dialogOptions);
    if (!made.ok) return made;
    this.add(made.dialog);
    return { ok: true, dialog: made.dialog, created: true };
  }

  /**
   * UAC: a response to our dialog-creating INVITE `request` (sent without To tag). Handles forking: each remote
   * tag gets its own early dialog; each 2xx confirms (or creates) the dialog of its tag; a non-2xx final
   * response terminates all early dialogs of the INVITE. After the first 2xx the remaining early dialogs are
   * retired after 64*T1, when the UAC considers the INVITE transaction complete (RFC 3261 §13.2.2.4).
   */
  handleUacInviteResponse(request: SipRequest, response: SipResponse): UacInviteOutcome {
    const status = response.status;
    const id = uacDialogIdOf(response);
    if (!id) return { kind: 'invalid', code: 'DIALOG_BAD_HEADER', message: 'unreadable From, To or Call-ID' };
    let seq: number;
    try {
      seq = response.cseq.seq;
    } catch {
      return { kind: 'invalid', code: 'DIALOG_BAD_HEADER', message: 'unreadable CSeq' };
    }
    if (status >= 300) {
      const terminated: Dialog[] = [];
      for (const d of [...this.byCallId(id.callId)]) {
        if (d.role === 'uac' && d.state === 'Early' && d.id.localTag === id.localTag && d.initialCseq === seq) {
          d.terminate('rejected');
          terminated.push(d);
        }
      }
      return { kind: 'failed', terminated };
    }
    if (status === 100) return NONE;
    const hasToTag = id.remoteTag !== '';
    if (status < 200 && !hasToTag) return NONE;
    const existing = this.dialogs.get(dialogKey(id.callId, id.localTag, id.remoteTag));
    if (status < 200) {
      if (existing) {
        if (existing.state !== 'Early') return NONE;
        existing.responseReceived(response);
        return { kind: 'early', dialog: existing, created: false };
      }
      const made = Dialog.fromUacResponse(request, response, this.dialogOptions);
      if (!made.ok) return { kind: 'invalid', code: made.code, message: made.message };
      this.add(made.dialog);
      return { kind: 'early', dialog: made.dialog, created: true };
    }
    // 2xx
    const additional = this.hasConfirmedSibling(id, seq);
    if (existing) {
      if (existing.state === 'Confirmed') return { kind: 'confirmed', dialog: existing, created: false, retransmission: true, additional: false };
      existing.responseReceived(response);
      if (!additional) this.scheduleForkRetirement(id, seq);
      return { kind: 'confirmed', dialog: existing, created: false, retransmission: false, additional };
    }
    const made = Dialog.fromUacResponse(request, response, this.dialogOptions);
    if (!made.ok) return { kind: 'invalid', code: made.code, message: made.message };
    this.add(made.dialog);
    if (!additional) this.scheduleForkRetirement(id, seq);
    return { kind: 'confirmed', dialog: made.dialog, created: true, retransmission: false, additional };
  }

  /** Terminates every dialog (shutdown) and cancels the fork timers. */
  terminateAll(cause: Parameters<Dialog['terminate']>[0] = 'local'): void {
    for (const d of [...this.dialogs.values()]) d.terminate(cause);
    if (this.clock) for (const t of this.forkTimers.values()) this.clock.clearTimeout(t);
    this.forkTimers.clear();
  }

  private hasConfirmedSibling(id: DialogId, seq: number): boolean {
    for (const d of this.byCallId(id.callId)) {
      if (d.role === 'uac' && d.state === 'Confirmed' && d.id.localTag === id.localTag && d.initialCseq === seq && d.id.remoteTag !== id.remoteTag) {
        return true;
      }
    }
    return false;
  }

  private scheduleForkRetirement(id: DialogId, seq: number): void {
    const clock = this.clock;
    if (!clock) return;
    const key = `${id.callId}\u0000${id.localTag}\u0000${seq}`;
    if (this.forkTimers.has(key)) return;
    const timer = clock.setTimeout(() => {
      this.forkTimers.delete(key);
      for (const d of [...this.byCallId(id.callId)]) {
        if (d.role === 'uac' && d.state === 'Early' && d.id.localTag === id.localTag && d.initialCseq === seq) d.terminate('forkExpired');
      }
    }, this.forkWindowMs);
    this.forkTimers.set(key, timer);
  }

  private detach(dialog: Dialog, terminated: boolean): boolean {
    if (this.dialogs.get(dialog.key) !== dialog) return false;
    this.dialogs.delete(dialog.key);
    const list = this.byCallIdMap.get(dialog.id.callId);
    if (list) {
      const i = list.indexOf(dialog);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) this.byCallIdMap.delete(dialog.id.callId);
    }
    if (terminated) this.terminatedCount++;
    return true;
  }
}

const EMPTY: readonly Dialog[] = Object.freeze([]);
const NONE: UacInviteOutcome = Object.freeze({ kind: 'none' });
const OUT_OF_DIALOG: DialogRequestMatch = Object.freeze({ kind: 'outOfDialog' });
const UNKNOWN: DialogRequestMatch = Object.freeze({ kind: 'unknown', status: 481, reason: 'Call/Transaction Does Not Exist', answer: true });
const UNKNOWN_ACK: DialogRequestMatch = Object.freeze({ kind: 'unknown', status: 481, reason: 'Call/Transaction Does Not Exist', answer: false });
