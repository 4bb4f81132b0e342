export { ConfigError } from './config-error';
export { CONFIG_VARIABLES, configDocs, configVariable, type ConfigVariable, type ConfigVariableName } from './config-variables';
export { EnvReader, isHostOrIp, type Env, type IntRange } from './env-reader';
export { blockListHas, cidrBlockList, formatCidr, parseCidr, type CidrBlock } from './cidr';
export {
  AI_PROTOCOLS,
  DEFAULT_ROUTES,
  LOG_LEVELS,
  MIN_JWT_SECRET_LENGTH,
  SIP_TRANSPORTS,
  loadConfig,
  redactConfig,
  systemHostFacts,
  type AiConfig,
  type AiProtocol,
  type ApiConfig,
  type ClusterConfig,
  type Config,
  type DatabaseConfig,
  type DefaultRoute,
  type HostFacts,
  type LogLevel,
  type MediaConfig,
  type NodeEnv,
  type RoutingConfig,
  type RtpConfig,
  type SipConfig,
  type SipTransportName,
} from './config';
