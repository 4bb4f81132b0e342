import type { SipResponse, SipUri } from '../sip/message';
import type { OutOfDialogRequestOptions } from '../sip/ua';
import type { TransportProtocol } from '../sip/transport';

/**
 * What the trunk services need from the SIP user agent (SipUserAgent satisfies it): out-of-dialog requests with
 * digest retry, and the address and Contact it advertises.
 */
export interface TrunkRequester {
  request(method: string, uri: string | SipUri, opts?: OutOfDialogRequestOptions): Promise<SipResponse>;
  readonly publicHost: string;
  contactFor(transport: TransportProtocol): string;
}

/** Minimal logging surface (the observability logger satisfies it). */
export interface TrunkLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const silentTrunkLogger: TrunkLogger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
