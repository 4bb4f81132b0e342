export type {
  BridgeCallDirection,
  BridgeCallInfo,
  BridgeCallPort,
  BridgeDtmfEvent,
  BridgeDtmfSource,
  BridgeMarkEvent,
  BridgeTranscriptEntry,
  BridgeTransferType,
  Unsubscribe,
} from './bridge-call-port';
export type { AiAudioCommand, AiAudioEncoding, AiCommand, AiDecodeResult, AiMessageError, AiMessageErrorCode } from './ai-command';
export { silentBridgeLogger, type BridgeConnectOutcome, type BridgeLogger, type BridgeSessionMetrics } from './bridge-metrics';
export { AI_PROTOCOL_NAMES, type AiProtocolName, type BridgeSmsNotice, type ProtocolCodec, type WireMessage } from './protocol-codec';
export { AI_AUDIO_RATES, NATIVE_UPLINK_RATES, NativeCodec } from './native-codec';
export { TwilioCodec, isTwilioSid, newStreamSid, type TwilioCodecOptions } from './twilio-codec';
export { JAMBONZ_SUBPROTOCOL, JAMBONZ_UPLINK_RATES, JambonzCodec } from './jambonz-codec';
export { DownlinkConverter, type DownlinkResult } from './downlink-converter';
export { UplinkConverter } from './uplink-converter';
export { FrameRing } from './frame-ring';
export {
  BridgeSession,
  type BridgeSessionEvents,
  type BridgeSessionOptions,
  type BridgeSessionState,
  type BridgeSessionStats,
  type BridgeStartResult,
} from './bridge-session';
export { AiBridge, type AiBridgeConfig, type AiBridgeDeps, type AiRouteOverrides } from './ai-bridge';
export {
  AiCallApp,
  formatAiFallback,
  parseAiSettings,
  type AiCallAppOptions,
  type AiCallAppStats,
  type AiFallback,
  type AiNumberSettings,
  type AiRouteSettings,
  type WavFetcher,
} from './ai-call-app';
