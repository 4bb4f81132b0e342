/**
 * SMS over SIP MESSAGE (RFC 3428): segment counting (GSM-7 / UCS-2), the durable PostgreSQL queue worked by any
 * number of instances, retries with backoff, delivery receipts (IMDN RFC 5438 or provider status MESSAGE),
 * inbound reassembly of X-SMS-Concat parts, and webhooks. Header conventions: concat-header.ts and
 * delivery-receipt.ts.
 */
export {
  GSM7_PART,
  GSM7_SINGLE,
  UCS2_PART,
  UCS2_SINGLE,
  countSegments,
  isGsm7,
  smsEncodingOf,
  splitSegments,
  type SegmentInfo,
  type SmsEncoding,
} from './segmentation';
export { CONCAT_HEADER, concatRefOf, formatConcatHeader, parseConcatHeader, type ConcatInfo, type ConcatParse } from './concat-header';
export {
  ERROR_HEADER,
  IMDN_CONTENT_TYPE,
  MESSAGE_ID_HEADER,
  STATUS_HEADER,
  isReceipt,
  mediaTypeOf,
  messageIdIn,
  parseImdn,
  receiptOf,
  type DeliveryReceipt,
} from './delivery-receipt';
export { SMS_CONTENT_TYPE, type SmsSegmentRef, type SmsSender, type SmsSendRequest, type SmsSendResult } from './sms-sender';
export { DEFAULT_RETRY_POLICY, checkRetryPolicy, classifyStatus, retryDelayMs, type AttemptVerdict, type RetryPolicy } from './retry-policy';
export {
  SipSmsSender,
  gatewayRoute,
  trunkDialString,
  trunkRoute,
  type SipRequester,
  type SipSmsSenderOptions,
  type SmsRoute,
  type SmsRouteResolver,
  type SmsSipRequestOptions,
  type SmsTrunkSource,
} from './sip-sms-sender';
export { WebhookDispatcher, type WebhookDispatcherOptions } from './webhook-dispatcher';
export { SmsWorker, type SmsAttemptOutcome, type SmsWorkerOptions } from './sms-worker';
export { gatewaySources, InboundSmsHandler, numberOfUri, type InboundSmsHandlerOptions, type InboundSmsPolicy } from './inbound-sms-handler';
export {
  SmsService,
  SmsValidationError,
  type AcceptedSms,
  type InboundSmsListener,
  type SmsHistoryFilter,
  type SmsHistoryPage,
  type SmsSendInput,
  type SmsServiceOptions,
  type SmsView,
} from './sms-service';
