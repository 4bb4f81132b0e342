/** The seam between the queue worker and the network: one MESSAGE (or one part of a segmented message) per call. */

/** RFC 3428 §8 body type of our texts; the body bytes are the exact UTF-8 encoding of the text. */
export const SMS_CONTENT_TYPE = 'text/plain;charset=UTF-8';

/** Position of a part in a segmented message (see concat-header.ts). */
export interface SmsSegmentRef {
  readonly ref: number;
  /** 1-based. */
  readonly seq: number;
  readonly total: number;
}

export interface SmsSendRequest {
  /** Our message id: stamped on the request (X-SMS-Message-ID, stable Call-ID) so a peer can drop duplicates. */
  readonly messageId: string;
  /** Attempt number, 1-based (orders requests that reuse a Call-ID: the CSeq). */
  readonly attempt: number;
  readonly from: string;
  readonly to: string;
  readonly body: Buffer;
  readonly contentType: string;
  readonly segment?: SmsSegmentRef;
  /** Trunk chosen when the message was accepted, if any. */
  readonly trunkId?: string | null;
}

export interface SmsSendResult {
  /**
   * Final SIP status. Failures without a response map as RFC 3261 §8.1.3.1 says: 408 for a transaction timeout,
   * 503 for a transport error. 0 = the request could not even be built or routed (not retried).
   */
  readonly status: number;
  readonly reason: string;
  /** Call-ID the request was sent with. */
  readonly callId?: string;
  /** Retry-After of a 503/480/486 (RFC 3261 §20.33), milliseconds. */
  readonly retryAfterMs?: number;
}

/** Sends one text. Must not throw: every failure is a result (a throw is treated as a 503). */
export interface SmsSender {
  send(request: SmsSendRequest): Promise<SmsSendResult>;
}
