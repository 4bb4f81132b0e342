export * from './clock';
export * from './errors';
export * from './emitter';
export * from './hmac';
export * from './literal-lookup';
export * from './random-pool';
