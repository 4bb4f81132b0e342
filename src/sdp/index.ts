// Public surface of the SDP layer: data model, parser, serializer, codecs and RFC 3264 offer/answer.
export * from './sdp-types';
export * from './sdp-parser';
export * from './sdp-serializer';
export * from './codecs';
export * from './offer-answer';
export * from './sdp-session';
