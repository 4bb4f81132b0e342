import { CodedError } from '../../util';
import type { SipRequest } from './message';

/**
 * Stable codes of SipParseError. Each names one way a message can be refused, so the transport can count them
 * by code (`sip_parse_errors_total{code}`) and tests can assert them.
 */
export const SipParseErrorCode = {
  /** Nothing but whitespace/CRLF: not a message (stream keep-alives are handled by the framer). */
  EMPTY: 'SIP_PARSE_EMPTY',
  /** Message larger than the configured maximum (64 KiB default). */
  TOO_LARGE: 'SIP_PARSE_TOO_LARGE',
  /** A physical line longer than the configured maximum. */
  LINE_TOO_LONG: 'SIP_PARSE_LINE_TOO_LONG',
  /** More header fields than the configured maximum (256 default). */
  TOO_MANY_HEADERS: 'SIP_PARSE_TOO_MANY_HEADERS',
  /** No empty line ends the header section, or (stream) the body is shorter than Content-Length. */
  INCOMPLETE: 'SIP_PARSE_INCOMPLETE',
  /** Request-Line or Status-Line does not follow RFC 3261 §7.1 / §7.2. */
  BAD_START_LINE: 'SIP_PARSE_BAD_START_LINE',
  /** Well-formed SIP-Version other than SIP/2.0 (answered with 505, RFC 3261 §21.5.6). */
  BAD_VERSION: 'SIP_PARSE_BAD_VERSION',
  /** The Request-URI is not a URI, or carries what RFC 3261 §19.1.1 forbids there. */
  BAD_REQUEST_URI: 'SIP_PARSE_BAD_REQUEST_URI',
  /** An essential header is malformed, or a header line has no name/colon. `header` names it. */
  BAD_HEADER: 'SIP_PARSE_BAD_HEADER',
  /** An essential header is absent. `header` names it. */
  MISSING_HEADER: 'SIP_PARSE_MISSING_HEADER',
  /** A single-valued essential header appears more than once (RFC 4475 §3.3.8). */
  DUPLICATE_HEADER: 'SIP_PARSE_DUPLICATE_HEADER',
  /** CSeq method differs from the request method (RFC 3261 §8.1.1.5, RFC 4475 §3.1.2.17). */
  CSEQ_MISMATCH: 'SIP_PARSE_CSEQ_MISMATCH',
  /** Content-Length malformed, negative, conflicting, or larger than the datagram (RFC 3261 §18.3). */
  CONTENT_LENGTH: 'SIP_PARSE_CONTENT_LENGTH',
  /** An unexpected internal failure, caught at the parser entry so network input never throws. */
  INTERNAL: 'SIP_PARSE_INTERNAL',
} as const;

export type SipParseErrorCodeValue = (typeof SipParseErrorCode)[keyof typeof SipParseErrorCode];

/**
 * Why a buffer is not an acceptable SIP message.
 *
 * When the start line is a Request-Line and the top Via can be read, `request` holds a SipRequest built from
 * the readable parts (raw header values, no validation) so the layer above can answer statelessly, as
 * DESIGN.md asks ("a malformed request whose Via can be read gets 400 with a reason"): use
 * `buildErrorResponse(error)` (status from `status`, reason phrase naming the header from `reason`).
 * Without `request` the message must be dropped and counted.
 */
export class SipParseError extends CodedError {
  declare readonly code: SipParseErrorCodeValue;
  /** Byte offset in the buffer where the problem was found. */
  readonly offset: number;
  /** Canonical name of the header at fault ('Via', 'CSeq', ...), when one is. */
  readonly header: string | undefined;
  /** The request as far as it could be read, when enough was read to answer it. */
  request: SipRequest | undefined;

  constructor(code: SipParseErrorCodeValue, message: string, offset: number, header?: string) {
    super(code, message);
    this.offset = offset;
    this.header = header;
    this.request = undefined;
  }

  /** Status the answer should carry: 505 for an unsupported version (RFC 3261 §21.5.6), 513 for oversize, else 400. */
  get status(): number {
    if (this.code === SipParseErrorCode.BAD_VERSION) return 505;
    if (this.code === SipParseErrorCode.TOO_LARGE) return 513;
    return 400;
  }

  /** Reason phrase naming what is wrong, e.g. 'Bad Request (Malformed CSeq)'. */
  get reason(): string {
    switch (this.code) {
      case SipParseErrorCode.BAD_VERSION:
        return 'Version Not Supported';
      case SipParseErrorCode.TOO_LARGE:
        return 'Message Too Large';
      case SipParseErrorCode.BAD_HEADER:
        return this.header ? `Bad Request (Malformed ${this.header})` : 'Bad Request (Malformed Header)';
      case SipParseErrorCode.MISSING_HEADER:
        return `Bad Request (Missing ${this.header ?? 'Header'})`;
      case SipParseErrorCode.DUPLICATE_HEADER:
        return `Bad Request (Multiple ${this.header ?? 'Header'})`;
      case SipParseErrorCode.CSEQ_MISMATCH:
        return 'Bad Request (CSeq Method Mismatch)';
      case SipParseErrorCode.CONTENT_LENGTH:
        return 'Bad Request (Bad Content-Length)';
      case SipParseErrorCode.BAD_REQUEST_URI:
        return 'Bad Request (Malformed Request-URI)';
      case SipParseErrorCode.BAD_START_LINE:
        return 'Bad Request (Malformed Request-Line)';
      default:
        return 'Bad Request';
    }
  }
}

/** Thrown by typed header getters when a header is missing or malformed (a programmer-facing error, not network input). */
export class SipHeaderError extends CodedError {
  constructor(
    code: 'SIP_HEADER_MISSING' | 'SIP_HEADER_MALFORMED',
    readonly header: string,
  ) {
    super(code, code === 'SIP_HEADER_MISSING' ? `missing ${header} header` : `malformed ${header} header`);
  }
}
