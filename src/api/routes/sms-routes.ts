import { ApiError } from '../api-error';
import { defineRoute, type RouteDefinition } from '../route-definition';
import { AUTH_RESPONSES, errorSchema } from './common-schemas';

const NOT_AVAILABLE = { 501: { description: 'SMS is not available on this server yet', schema: errorSchema } };

/**
 * The SMS endpoints of the product contract. SIP MESSAGE delivery is not built yet, so they answer 501
 * after authentication: a client learns the truth instead of a fake "queued" that would never be sent.
 */
export function smsRoutes(): RouteDefinition[] {
  const unavailable = (): never => {
    throw new ApiError(501, 'not_implemented', 'SMS is not available on this server yet');
  };
  return [
    defineRoute({
      method: 'post',
      path: '/api/sms/send',
      tag: 'SMS',
      summary: 'Send an SMS (not available yet: 501)',
      access: 'sms:write',
      responses: { ...NOT_AVAILABLE, ...AUTH_RESPONSES },
      handle: unavailable,
    }),
    defineRoute({
      method: 'get',
      path: '/api/sms/history',
      tag: 'SMS',
      summary: 'Message history (not available yet: 501)',
      access: 'sms:read',
      responses: { ...NOT_AVAILABLE, ...AUTH_RESPONSES },
      handle: unavailable,
    }),
    defineRoute({
      method: 'get',
      path: '/api/sms/:message_id',
      tag: 'SMS',
      summary: 'Message status (not available yet: 501)',
      access: 'sms:read',
      responses: { ...NOT_AVAILABLE, ...AUTH_RESPONSES },
      handle: unavailable,
    }),
  ];
}
