/**
 * The SIP message layer (RFC 3261 §7, §20, §25; RFC 3966 tel; RFC 5118 IPv6): parsing, the message model,
 * URIs, name-addr, Via, serialization and message construction. Imports nothing of ours but util.
 */
export type { SipTransportName, Via } from './via';
export { parseVia, formatVia } from './via';
export type { SipUri } from './uri';
export { parseUri, formatUri, cloneUri, isSupportedUriScheme, isIpv4, isIpv6 } from './uri';
export type { NameAddr } from './name-addr';
export { parseNameAddr, parseNameAddrList, formatNameAddr } from './name-addr';
export type { CSeq } from './scalar-headers';
export { MAX_CSEQ, parseCSeq, isValidCallId } from './scalar-headers';
export { SipMessage, SipRequest, SipResponse } from './message';
export { SipParseError, SipParseErrorCode, SipHeaderError } from './errors';
export type { SipParseErrorCodeValue } from './errors';
export { parseMessage, DEFAULT_MAX_MESSAGE_SIZE, DEFAULT_MAX_HEADERS, DEFAULT_MAX_LINE_LENGTH } from './parser';
export type { ParseOptions, ParseResult } from './parser';
export { frameStreamMessage } from './framer';
export type { FrameResult } from './framer';
export { createResponse, createRequest, buildErrorResponse } from './factory';
export type { ResponseOptions, RequestInit } from './factory';
export { reasonPhrase } from './reason-phrases';
export { generateBranch, generateTag, generateCallId, BRANCH_MAGIC_COOKIE } from './ids';
export { unsupportedRequire } from './checks';
export { headerKey, canonicalHeaderName, isListHeader } from './header-names';
export { splitTopLevel } from './lexer';
