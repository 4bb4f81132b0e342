/**
 * SIP trunks (VoIP providers): the registry loaded from the database, outbound registration (RFC 3261 §10.2),
 * OPTIONS health, outbound route choice with channel accounting and failover, inbound identification.
 */
export { shouldFailover, isTrunkMiss, type TrunkAttemptResult } from './failover';
export { ChannelTracker, type TrunkChannel } from './channel-tracker';
export { matchPrefix, orderRoutes, dialStringFor, type PrefixMatch, type RoutableTrunk } from './route-selection';
export { TrunkHealth, type TrunkHealthStatus, type TrunkHealthThresholds } from './trunk-health';
export {
  TrunkRegistration,
  grantedExpires,
  type RegistrationOptions,
  type RegistrationParams,
  type RegistrationSnapshot,
  type RegistrationState,
} from './trunk-registration';
export { InboundIdentifier, type InboundStats, type InboundVerdict } from './inbound-identifier';
export { InboundAuthenticator, type DigestInboundVerdict, type InboundAuthOptions, type InboundTrunkCredentials } from './inbound-authenticator';
export { silentTrunkLogger, type TrunkLogger, type TrunkRequester } from './trunk-requester';
export {
  TrunkRegistry,
  overallStatus,
  type ChooseOptions,
  type ProxyResolver,
  type TrunkGauge,
  type TrunkLiveView,
  type TrunkRegistryEvents,
  type TrunkRegistryOptions,
  type TrunkRoute,
  type TrunkSource,
  type TrunkStateSnapshot,
} from './trunk-registry';
export { createTrunkServices, type TrunkServicesDeps } from './create-trunk-services';
