import type { JsonObject, JsonValue } from './json';

// The storage call control needs, as an interface it owns (DESIGN.md: `call` owns a storage interface, the store
// implements it). CallStorePg adapts the repositories of src/store; tests may hand in an in-memory one.

export type CdrDirection = 'inbound' | 'outbound';
export type CdrStatus = 'initiated' | 'ringing' | 'answered' | 'completed' | 'failed' | 'busy' | 'no_answer' | 'cancelled' | 'rejected';
export type CdrFinalStatus = 'completed' | 'failed' | 'busy' | 'no_answer' | 'cancelled' | 'rejected';
/** Who ended the call: the calling party, the called party, the AI, an API request, or the server itself. */
export type HangupSide = 'caller' | 'callee' | 'ai' | 'api' | 'system';

/** The first write of a call's CDR. */
export interface CdrStart {
  callId: string;
  instanceId: string;
  direction: CdrDirection;
  fromNumber: string;
  toNumber: string;
  fromDisplay?: string;
  parentCallId?: string;
  trunkId?: string;
  remoteAddress?: string;
  startedAt: Date;
  webhookUrl?: string;
  metadata?: JsonObject;
}

/** Fields that change while the call runs. */
export interface CdrPatch {
  status?: CdrStatus;
  answeredAt?: Date;
  sipCode?: number;
  codec?: string;
  /** The trunk the call went through (outbound: the one that answered, or the last one tried). */
  trunkId?: string;
  remoteAddress?: string;
  rtpPacketsSent?: number;
  rtpPacketsReceived?: number;
  rtpBytesSent?: number;
  rtpBytesReceived?: number;
  rtpPacketsLost?: number;
  rtpJitterMs?: number;
  recordingId?: string | null;
  metadata?: JsonObject;
}

export interface CdrEnd {
  status: CdrFinalStatus;
  endedAt: Date;
  sipCode?: number;
  hangupCause: string;
  hangupSide: HangupSide;
}

/** How a number rings the caller while we reach the destination. */
export type RingMode = 'ringback' | 'early-media';

/** The routing settings of one of our numbers (DID), as call control reads them. */
export interface NumberRouting {
  number: string;
  /** The route: ai | answer | echo | reject | ivr:<id> | queue:<id> | forward:<target>. */
  route: string;
  enabled: boolean;
  /** null = unlimited. */
  maxConcurrentCalls: number | null;
  /** Raw forwarding rules ({ target, when: always | busy | no_answer, timeoutS }); parsed by forward-rules.ts. */
  forwardRules: readonly JsonValue[];
  /** Status webhook for calls to this number. */
  statusCallback: string | null;
  /** undefined = the server default. */
  ringMode: RingMode | undefined;
  recordingEnabled: boolean;
}

/** One call_events row. */
export interface CdrEventWrite {
  type: string;
  data: JsonObject;
  at: Date;
}

/**
 * The writes of one call gathered for a batch, already folded: the row's creation (when it is new), the merged
 * patch (later fields win, metadata keys merged), appended digits, the end (applied after the patch, first end
 * wins), and the call's events in order.
 */
export interface CdrWriteSet {
  callId: string;
  create?: CdrStart;
  patch?: CdrPatch;
  dtmf?: string;
  end?: CdrEnd;
  events: CdrEventWrite[];
}

/** Durable storage of CDRs and the lookups inbound routing needs. Every write resolves once committed. */
export interface CallStore {
  createCdr(start: CdrStart): Promise<void>;
  updateCdr(callId: string, patch: CdrPatch): Promise<void>;
  /** Close the CDR (idempotent: the first end wins); durations are computed by the store. */
  endCdr(callId: string, end: CdrEnd): Promise<void>;
  appendEvent(callId: string, type: string, data: JsonObject, at: Date): Promise<void>;
  appendDtmf(callId: string, digits: string): Promise<void>;
  /** Close every CDR `instanceId` left open (crash recovery); returns how many. */
  closeOpenCalls(instanceId: string, cause: string): Promise<number>;
  isBlocked(number: string): Promise<boolean>;
  numberRouting(number: string): Promise<NumberRouting | undefined>;
  /**
   * Optional: write the sets of many calls atomically in one round trip (CdrWriter then batches across calls;
   * without it every write is its own call of the methods above).
   */
  writeCdrBatch?(sets: readonly CdrWriteSet[]): Promise<void>;
  /** Optional: load what routing needs before the first call (start-up). */
  warm?(): Promise<void>;
  /** Optional: release timers and subscriptions (after the last write). */
  close?(): Promise<void>;
}
