export { AUTH_RESPONSES, E164, e164Schema, errorSchema } from './common-schemas';
export { numberRoutes, type NumberRouteDeps } from './number-routes';
export { trunkRoutes, type TrunkLiveState, type TrunkRouteDeps } from './trunk-routes';
export { smsRoutes, type SmsApi, type SmsRouteDeps } from './sms-routes';
export { opsRoutes, type ListenerInfo, type OpsRouteDeps } from './ops-routes';
