/**
 * SIP dialogs (RFC 3261 §12-§15): dialog state, route set, CSeq, in-dialog requests, re-INVITE glare, 2xx/ACK
 * reliability, RFC 3262 reliable provisional responses and RFC 4028 session timers. Pure state on an injected
 * clock: the UA core wires it to the transaction layer.
 */
export {
  Dialog,
  isDialogCreatingMethod,
  isTargetRefreshMethod,
  type DialogCreateErrorCode,
  type DialogCreateResult,
  type DialogEvents,
  type DialogOptions,
  type DialogRole,
  type DialogState,
  type DialogTerminationCause,
  type InDialogRequestOptions,
  type InDialogRequestVerdict,
  type ReliableProvisionalVerdict,
} from './dialog';
export { dialogIdKey, dialogKey, uacDialogIdOf, uasDialogIdOf, type DialogId } from './dialog-id';
export {
  DialogManager,
  type DialogCounts,
  type DialogManagerOptions,
  type DialogRequestMatch,
  type UacInviteOutcome,
  type UasDialogResult,
} from './dialog-manager';
export { DEFAULT_T1_MS, DEFAULT_T2_MS } from './dialog-timers';
export { glareRetryDelayMs, retryAfterSeconds } from './glare';
export { hasOptionTag } from './header-access';
export {
  formatRAck,
  initialRSeq,
  isReliableProvisional,
  OPTION_TAG_100REL,
  parseRAck,
  parseRSeq,
  requires100rel,
  RSeqCounter,
  supports100rel,
  type RAck,
} from './rack';
export { ReliableProvisionalSender, type PrackMatch, type ReliableProvisionalSenderOptions } from './reliable-provisional-sender';
export {
  DEFAULT_SESSION_INTERVAL,
  formatSessionExpires,
  MIN_SE_FLOOR,
  negotiateSessionTimerUac,
  negotiateSessionTimerUas,
  OPTION_TAG_TIMER,
  parseMinSE,
  parseSessionExpires,
  readMinSE,
  readSessionExpires,
  sessionIntervalAfter422,
  sessionTimerRequestHeaders,
  supportsSessionTimer,
  type NegotiatedSessionTimer,
  type SessionExpires,
  type SessionRefresher,
  type SessionTimerPolicy,
  type UasSessionTimerDecision,
} from './session-expires';
export { SessionTimer, type SessionTimerEvents, type SessionTimerOptions } from './session-timer';
export { UacAckRetransmitGuard, type UacAckRetransmitGuardOptions } from './uac-ack-retransmit-guard';
export { Uas2xxRetransmitter, type Uas2xxRetransmitterOptions, type Uas2xxRetransmitterState } from './uas-2xx-retransmitter';
