// Lint rules, including the dependency direction of DESIGN.md ("a layer imports only layers below it").
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const forbid = (patterns, message) => ({
  'no-restricted-imports': ['error', { patterns: [{ group: patterns, message }] }],
});

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'data/', '**/*.js', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  {
    files: ['src/sip/message/**/*.ts'],
    rules: forbid(['../transport/*', '../transaction/*', '../dialog/*', '../ua/*', '../../*/**', '!../../util/**', 'pg', 'express', 'ws', 'prom-client'], 'sip/message imports only util'),
  },
  {
    files: ['src/sip/transport/**/*.ts'],
    rules: forbid(['../transaction/*', '../dialog/*', '../ua/*', 'pg', 'express', 'ws', 'prom-client'], 'the transport layer never imports transaction, dialog or ua'),
  },
  {
    files: ['src/sip/transaction/**/*.ts'],
    rules: forbid(['../dialog/*', '../ua/*', 'pg', 'express', 'ws', 'prom-client'], 'the transaction layer never imports dialog or ua'),
  },
  {
    files: ['src/sip/dialog/**/*.ts'],
    rules: forbid(['../ua/*', 'pg', 'express', 'ws', 'prom-client'], 'the dialog layer never imports ua'),
  },
  {
    files: ['src/rtp/**/*.ts', 'src/dsp/**/*.ts', 'src/sdp/**/*.ts'],
    rules: forbid(['../sip/*', '../call/*', '../api/*', '../bridge/*', '../store/*', 'pg', 'express', 'ws', 'prom-client'], 'media code knows nothing of SIP, storage or the web'),
  },
  {
    files: ['src/media/**/*.ts'],
    rules: forbid(['../sip/*', '../call/*', '../api/*', '../bridge/*', '../store/*', 'pg', 'express', 'ws', 'prom-client'], 'media knows nothing of SIP, call control or the web'),
  },
  {
    files: ['src/call/**/*.ts'],
    rules: forbid(['../api/*', '../bridge/*', 'express', 'ws'], 'call never imports api, express or ws'),
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
);
