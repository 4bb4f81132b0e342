export * from './answer-route';
