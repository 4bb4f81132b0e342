import type { SendTarget } from '../transport';

/**
 * Where a SIP message goes or came from, as the UA core and the transaction layer see it: the transport layer's
 * SendTarget (IP literal `address`, `port`, and a `connectionId` pinning a TCP/TLS connection, RFC 3261 §18.2.2).
 */
export type SipTarget = SendTarget;

/** Minimal logging surface the SIP layers need (the observability logger satisfies it). */
export interface UaLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const silentLogger: UaLogger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
};

/** Counters the UA core reports; observability subscribes (no prom-client in sip/*). */
export interface UaHooks {
  /** A message was received or sent. `kind` is the method for requests, the status for responses. */
  message?(direction: 'in' | 'out', method: string, status: number | undefined): void;
  /** A datagram/stream message could not be parsed. `answered`: a 4xx/5xx went back. */
  parseError?(code: string, source: { address: string; port: number; transport: string }, answered: boolean): void;
  /** Input discarded before parsing: `acl` (source outside SIP_ALLOWED_CIDRS) or `flood` (a banned source). */
  dropped?(reason: 'acl' | 'flood'): void;
  /** A request was refused by the UA core's own checks (RFC 3261 §8.2), with the status sent. */
  rejected?(method: string, status: number): void;
}
