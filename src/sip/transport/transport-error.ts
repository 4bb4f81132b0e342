import { CodedError } from '../../util';
import type { TransportProtocol } from './types';

/**
 * A send failed at the transport (RFC 3261 §18.4: the transaction layer turns it into a transport error,
 * e.g. §17.1.1.2 "Timer B / transport error -> 503 to the TU"). `code` is the system error code when the
 * OS gave one (ECONNREFUSED, ECONNRESET, EHOSTUNREACH, ETIMEDOUT...) or one of the ERR_SIP_TRANSPORT_* codes.
 */
export class TransportError extends CodedError {
  constructor(
    code: string,
    message: string,
    readonly transport: TransportProtocol,
    readonly address: string,
    readonly port: number,
    override readonly cause?: unknown,
  ) {
    super(code, message);
  }
}

/** The layer is closed or was never started. */
export const ERR_NOT_RUNNING = 'ERR_SIP_TRANSPORT_NOT_RUNNING';
/** No socket of that transport/family to send from. */
export const ERR_NO_LISTENER = 'ERR_SIP_TRANSPORT_NO_LISTENER';
/** The write queue of the connection is over maxBufferedBytes: the peer does not read. */
export const ERR_BACKPRESSURE = 'ERR_SIP_TRANSPORT_BACKPRESSURE';
/** `connect: false` and no open connection to the target (RFC 5626 flow gone). */
export const ERR_NO_CONNECTION = 'ERR_SIP_TRANSPORT_NO_CONNECTION';
/** The connection closed before the data could be written. */
export const ERR_CONNECTION_CLOSED = 'ERR_SIP_TRANSPORT_CONNECTION_CLOSED';
/** The target port or address cannot be sent to (port outside 1..65535, empty address). */
export const ERR_BAD_TARGET = 'ERR_SIP_TRANSPORT_BAD_TARGET';
/** A datagram larger than the UDP maximum (65507 bytes over IPv4). */
export const ERR_DATAGRAM_TOO_LARGE = 'ERR_SIP_TRANSPORT_DATAGRAM_TOO_LARGE';

/** Wrap a Node socket error into a TransportError, keeping the system error code. */
export function toTransportError(err: unknown, transport: TransportProtocol, address: string, port: number): TransportError {
  if (err instanceof TransportError) return err;
  const code = typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'string' ? (err as { code: string }).code : 'ERR_SIP_TRANSPORT';
  const message = err instanceof Error ? err.message : String(err);
  return new TransportError(code, `${transport} ${address}:${port}: ${message}`, transport, address, port, err);
}
