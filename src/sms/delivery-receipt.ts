/**
 * Delivery receipts for outbound messages. Two forms are understood:
 *
 * 1. IMDN (RFC 5438): a MESSAGE whose body is `message/imdn+xml` (or `message/cpim` wrapping one, RFC 5438 §6)
 *    with a `<delivery-notification>` (§7.2.1.1): `<delivered/>` moves the message to `delivered`; `<failed/>`,
 *    `<forbidden/>` or `<error/>` to `failed`. A `<display-notification>` with `<displayed/>` implies delivery.
 *    `<message-id>` names our message: its id (the `X-SMS-Message-ID` we sent) or our Call-ID, which embeds it.
 * 2. Provider status MESSAGE: any MESSAGE carrying `X-SMS-Status: delivered | failed | undelivered | rejected |
 *    expired` and `X-SMS-Message-ID: <our message id>`; an optional `X-SMS-Error` gives the reason.
 */

/** Header stamped on every outbound MESSAGE: our message id, the same on every attempt and part (peer dedupe). */
export const MESSAGE_ID_HEADER = 'X-SMS-Message-ID';
export const STATUS_HEADER = 'X-SMS-Status';
export const ERROR_HEADER = 'X-SMS-Error';
export const IMDN_CONTENT_TYPE = 'message/imdn+xml';

export interface DeliveryReceipt {
  /** Our message id (a UUID), extracted from whatever reference the peer echoed. */
  readonly messageId: string;
  readonly delivered: boolean;
  /** The status word as received (`delivered`, `failed`, ...). */
  readonly status: string;
  readonly error?: string;
}

const UUID_IN = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
const MAX_XML = 16 * 1024;

/** Our message id inside a reference echoed by a peer (bare id, `<id>`, or a Call-ID built from it). */
export function messageIdIn(reference: string): string | undefined {
  const m = UUID_IN.exec(reference);
  return m ? m[0].toLowerCase() : undefined;
}

function element(xml: string, name: string): string | undefined {
  // Namespace prefixes are allowed (<imdn:message-id>); IMDN documents are small, so a bounded regex is fine.
  const re = new RegExp(`<(?:[A-Za-z_][\\w.-]*:)?${name}(?:\\s[^>]*)?>([\\s\\S]*?)</(?:[A-Za-z_][\\w.-]*:)?${name}\\s*>`);
  const m = re.exec(xml);
  return m ? m[1] : undefined;
}

function firstChildName(xml: string): string | undefined {
  const m = /<(?:[A-Za-z_][\w.-]*:)?([A-Za-z][\w-]*)\s*\/?>/.exec(xml);
  return m ? m[1].toLowerCase() : undefined;
}

/** Parse an IMDN document (RFC 5438 §7.2). Undefined when it is not a delivery/display notification we use. */
export function parseImdn(xml: string): DeliveryReceipt | undefined {
  if (xml.length > MAX_XML) return undefined;
  const ref = element(xml, 'message-id');
  const messageId = ref === undefined ? undefined : messageIdIn(ref);
  if (!messageId) return undefined;
  const delivery = element(xml, 'delivery-notification');
  if (delivery !== undefined) {
    const status = firstChildName(element(delivery, 'status') ?? '');
    if (status === 'delivered') return { messageId, delivered: true, status };
    if (status === 'failed' || status === 'forbidden' || status === 'error') return { messageId, delivered: false, status, error: `IMDN ${status}` };
    return undefined;
  }
  const display = element(xml, 'display-notification');
  if (display !== undefined && firstChildName(element(display, 'status') ?? '') === 'displayed') {
    return { messageId, delivered: true, status: 'displayed' };
  }
  return undefined;
}

const POSITIVE = new Set(['delivered', 'delivrd', 'displayed', 'read']);
const NEGATIVE = new Set(['failed', 'undelivered', 'undeliv', 'rejected', 'rejectd', 'expired', 'deleted', 'unknown']);

/** Media type without parameters, lower case. */
export function mediaTypeOf(contentType: string | undefined): string {
  if (contentType === undefined) return '';
  const semi = contentType.indexOf(';');
  return (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
}

/**
 * The receipt carried by an inbound MESSAGE, if it is one. `header` reads a header field of the request.
 * Returns undefined for an ordinary text message.
 */
export function receiptOf(contentType: string | undefined, body: Buffer, header: (name: string) => string | undefined): DeliveryReceipt | undefined {
  const status = header(STATUS_HEADER);
  if (status !== undefined) {
    const word = status.trim().toLowerCase();
    const messageId = messageIdIn(header(MESSAGE_ID_HEADER) ?? '');
    if (!messageId) return undefined;
    if (POSITIVE.has(word)) return { messageId, delivered: true, status: word };
    if (NEGATIVE.has(word)) return { messageId, delivered: false, status: word, error: header(ERROR_HEADER) ?? word };
    return undefined;
  }
  const type = mediaTypeOf(contentType);
  if (type === IMDN_CONTENT_TYPE) return parseImdn(body.toString('utf8'));
  if (type === 'message/cpim') {
    // RFC 3862: CPIM headers, blank line, then the MIME headers and body of the payload.
    const text = body.toString('utf8');
    if (!/content-type:\s*message\/imdn\+xml/i.test(text)) return undefined;
    const start = text.indexOf('<');
    return start < 0 ? undefined : parseImdn(text.slice(start));
  }
  return undefined;
}

/** True when a MESSAGE is a receipt rather than a text (used to route it before the number checks). */
export function isReceipt(contentType: string | undefined, header: (name: string) => string | undefined): boolean {
  const type = mediaTypeOf(contentType);
  return header(STATUS_HEADER) !== undefined || type === IMDN_CONTENT_TYPE || type === 'message/cpim';
}
