export {
  IVR_KEY_PATTERN,
  IvrMenuSet,
  ivrActionSchema,
  ivrMenuDocumentSchema,
  ivrMenuSchema,
  ivrPromptSchema,
  ivrRouteActionSchema,
  ivrSimpleActionSchema,
  ivrWebhookAnswerSchema,
  maxOptionLength,
  type IvrAction,
  type IvrCollectAction,
  type IvrMenu,
  type IvrMenuInput,
  type IvrMenuIssue,
  type IvrMenuSetResult,
  type IvrPrompt,
  type IvrRouteAction,
  type IvrSimpleAction,
} from './ivr-menu';
export type { IvrCallPort, IvrEventData, IvrEventValue, IvrPlaybackEnd } from './ivr-call-port';
export { IvrPromptRenderer, TtsError, splitCommandTemplate, type IvrPromptRendererOptions, type IvrPromptResolver } from './ivr-prompt-renderer';
export { HttpIvrWebhookClient, IvrWebhookError, type HttpIvrWebhookClientOptions, type IvrWebhookClient, type IvrWebhookRequest } from './ivr-webhook-client';
export { IvrSession, type IvrOutcome, type IvrSessionOptions } from './ivr-session';
export { ivrMenuFromRecord, ivrMenuSetFromRecords, ivrMenuToRecord } from './ivr-menu-record';
