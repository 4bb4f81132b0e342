export { SipTransportLayer, type TransportPorts } from './sip-transport-layer';
export type {
  SipTransportOptions,
  ListenerOptions,
  TlsListenerOptions,
  TlsClientOptions,
  PemSource,
} from './transport-options';
export { DEFAULTS as TRANSPORT_DEFAULTS } from './transport-options';
export {
  cloneSource,
  DROP_REASONS,
  type TransportProtocol,
  type StreamProtocol,
  type Endpoint,
  type MessageSource,
  type SendTarget,
  type SendResult,
  type DropReason,
  type ConnectionCloseReason,
  type ConnectionInfo,
  type MessageHandler,
  type DropHandler,
} from './types';
export {
  TransportError,
  toTransportError,
  ERR_NOT_RUNNING,
  ERR_NO_LISTENER,
  ERR_BACKPRESSURE,
  ERR_NO_CONNECTION,
  ERR_CONNECTION_CLOSED,
  ERR_DATAGRAM_TOO_LARGE,
  ERR_BAD_TARGET,
} from './transport-error';
export { TransportMetrics } from './transport-metrics';
export { responseTarget, type ViaRouting, type RequestOrigin } from './response-target';
export {
  defaultPort,
  shouldUseStream,
  isReliableTransport,
  isStreamProtocol,
  toTransportProtocol,
  normalizeAddress,
  UDP_STREAM_THRESHOLD,
  MAX_UDP_PAYLOAD,
} from './transport-protocol';
export { StreamFramer, type StreamFramerSink, type FramerFailure, type FramerStatus } from './stream-framer';
export { scanContentLength, CONTENT_LENGTH_MISSING, CONTENT_LENGTH_INVALID } from './content-length-scanner';
export { isStunMessage, isStunBindingRequest, encodeStunBindingResponse } from './stun-binding';
