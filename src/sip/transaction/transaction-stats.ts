/**
 * Plain counters for observability to read (and export as metrics); the transaction layer never imports a metrics
 * library (STYLE.md §2).
 */
export interface TransactionStats {
  /** Active transactions by kind (gauges). */
  inviteClient: number;
  nonInviteClient: number;
  inviteServer: number;
  nonInviteServer: number;
  /** Transactions created since start, all kinds (counter). */
  created: number;
  /** Requests and responses sent again: timer-driven (A, E, G) or in answer to a retransmitted request (counter). */
  retransmissions: number;
  /** Incoming retransmissions absorbed by a transaction instead of reaching the TU (counter). */
  absorbed: number;
  /** Timer B, F (client) and Timer H (server, ACK never came) expiries (counter). */
  timeouts: number;
  /** Sends rejected by the transport (counter). */
  transportErrors: number;
  /** Responses matching no client transaction, handed to the TU (counter). */
  strayResponses: number;
  /** ACKs for 2xx handed to the TU: matching no server transaction, or matching one in Accepted (counter). */
  unmatchedAcks: number;
  /** Messages dropped because an essential header could not be read (counter). */
  dropped: number;
  /** TU callbacks that threw; the transaction went on regardless (counter). */
  callbackErrors: number;
}

export function createTransactionStats(): TransactionStats {
  return {
    inviteClient: 0,
    nonInviteClient: 0,
    inviteServer: 0,
    nonInviteServer: 0,
    created: 0,
    retransmissions: 0,
    absorbed: 0,
    timeouts: 0,
    transportErrors: 0,
    strayResponses: 0,
    unmatchedAcks: 0,
    dropped: 0,
    callbackErrors: 0,
  };
}
