import type { AiMessageErrorCode } from './ai-command';

/** How a connection attempt to the AI platform ended (same labels as the bridge_connect_total metric). */
export type BridgeConnectOutcome = 'ok' | 'failed' | 'timeout' | 'rejected';

/**
 * What the bridge reports for monitoring. Every method is optional so `observability`'s BridgeMetrics can be
 * passed as is (or wrapped) without the bridge depending on prom-client. Methods are called on hot paths: keep
 * implementations to a counter increment or histogram observe.
 */
export interface BridgeSessionMetrics {
  connectAttempt?(result: BridgeConnectOutcome): void;
  /** A dropped connection came back during a call. */
  reconnect?(): void;
  /** Audio from the AI discarded (undecodable, or refused by a full playout queue), in 20 ms frames. */
  framesDropped?(count?: number): void;
  /** Caller frames dropped before reaching the AI (buffer bound while connecting/reconnecting, or a slow AI). */
  uplinkFramesDropped?(count: number): void;
  /** Time from a caller frame's delivery to the bridge until its ws.send, in seconds. */
  uplinkLatency?(seconds: number): void;
  /** Time from an AI audio message's arrival until its audio is queued for the caller, in seconds. */
  downlinkLatency?(seconds: number): void;
  /** An AI message was refused (malformed, unknown type, bad field). */
  aiMessageRejected?(code: AiMessageErrorCode): void;
}

/** pino-compatible subset the bridge logs through. */
export interface BridgeLogger {
  debug(fields: object, msg?: string): void;
  info(fields: object, msg?: string): void;
  warn(fields: object, msg?: string): void;
}

export const silentBridgeLogger: BridgeLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
};
