-- 002_trunk_api: trunk fields the REST API manages (POST/PUT /api/trunks) beyond 001_init.
-- Applied in one transaction by the migration runner; runs unchanged on PostgreSQL and PGlite.

-- Caller ID presented on outbound calls through the trunk when the call does not set one.
ALTER TABLE trunks ADD COLUMN caller_id text;
-- Dialled-number prefixes the trunk serves for outbound route choice ('+1', '+4420'); empty = any number.
ALTER TABLE trunks ADD COLUMN prefixes text[] NOT NULL DEFAULT '{}';

COMMENT ON COLUMN trunks.password IS
  'AES-256-GCM ciphertext (v1.<iv>.<tag>.<data>, base64url), key derived from TRUNK_SECRET_KEY, trunk id as associated data. Never plaintext.';
