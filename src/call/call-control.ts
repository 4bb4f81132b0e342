import { CodedError } from '../util';
import type { CallState } from './call-state';
import type { CdrDirection } from './call-store';
import type { TransferMode } from './call-app';

/** A call in progress, as the API shows it. */
export interface ActiveCallInfo {
  callId: string;
  direction: CdrDirection;
  from: string;
  to: string;
  state: CallState;
  route: string;
  /** ISO 8601. */
  startedAt: string;
  answeredAt: string | null;
  /** Seconds since answer. */
  durationS: number;
  codec: string | null;
  /** Either side holds the other. */
  onHold: boolean;
  /** The other SIP party when bridged (forward, transfer). */
  bLeg: { callId: string; codec: string | null } | null;
  parentCallId: string | null;
  dtmfDigits: string;
}

export interface OriginateRequest {
  /** Caller ID: a number or a SIP URI. */
  from: string;
  /** A number (through the outbound trunk) or a SIP URI. */
  to: string;
  fromDisplay?: string;
  /** Trunk id; default the configured outbound trunk. */
  trunk?: string;
  /** What the callee gets once answered: ai | answer | echo | ivr:<id> | queue:<id> | forward:<target>. */
  route?: string;
  webhookUrl?: string;
  /** Ring this long before giving up (CANCEL -> no-answer), seconds. */
  timeoutS?: number;
  /** Extra SIP headers for the INVITE (X-..., P-Asserted-Identity...). */
  headers?: [string, string][];
}

export interface TransferRequest {
  /** Blind: a number or SIP URI. Attended: the callId of another active call to join this one with. */
  target: string;
  mode?: TransferMode;
}

export interface TransferResult {
  ok: boolean;
  /** `refer`: the party was asked to call the target (RFC 3515); `bridge`: we called the target and bridged it. */
  method: 'refer' | 'bridge';
  /** The final status of the transfer attempt (from the NOTIFY sipfrag or the new leg). */
  status: number | undefined;
}

export type CallControlErrorCode =
  | 'CALL_NOT_FOUND'
  | 'CALL_STATE' // e.g. hold before answer
  | 'BAD_TARGET'
  | 'BAD_ROUTE'
  | 'NO_TRUNK'
  | 'ROUTE_UNAVAILABLE'
  | 'CAPACITY'
  | 'SHUTTING_DOWN';

/** Errors of the call control service; `code` is stable (the API maps it to an HTTP status). */
export class CallControlError extends CodedError {
  declare readonly code: CallControlErrorCode;

  constructor(code: CallControlErrorCode, message: string) {
    super(code, message);
  }
}

/**
 * The call control service the REST API and the AI bridge use (DESIGN.md: api talks to call through its service
 * interface). Every method is safe to call with any input: unknown calls and bad arguments reject with
 * CallControlError.
 */
export interface CallControl {
  list(): ActiveCallInfo[];
  get(callId: string): ActiveCallInfo | undefined;
  /** End the call (BYE, or CANCEL / a final response before answer). False when no such call. */
  hangup(callId: string, cause?: string): boolean;
  transfer(callId: string, req: TransferRequest): Promise<TransferResult>;
  hold(callId: string): Promise<boolean>;
  resume(callId: string): Promise<boolean>;
  /** Place an outbound call; resolves once the INVITE is on its way (follow it with get() or webhooks). */
  originate(req: OriginateRequest): Promise<ActiveCallInfo>;
}
