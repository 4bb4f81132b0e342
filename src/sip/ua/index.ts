export * from './types';
export * from './targets';
export * from './request-checks';
export * from './invite-session';
export * from './server-invite-session';
export * from './user-agent';
