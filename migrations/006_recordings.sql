-- 006_recordings: what started a recording, its channel layout and its file name, so the API can list and
-- serve recordings without touching the disk, and a completed recording can be found per call.
-- Applied in one transaction by the migration runner; runs unchanged on PostgreSQL and PGlite.

-- Who asked for it: the number's setting, originate's `record: true`, the API, or the AI platform.
ALTER TABLE recordings ADD COLUMN source text NOT NULL DEFAULT 'api' CHECK (source IN ('number', 'originate', 'api', 'ai'));
-- File name under RECORDINGS_DIR (file_path keeps the absolute path this instance wrote).
ALTER TABLE recordings ADD COLUMN file_name text;
-- Channel layout of a stereo file: left = the caller, right = the other side (AI, IVR, bridged party).
ALTER TABLE recordings ADD COLUMN layout text NOT NULL DEFAULT 'caller-left' CHECK (layout IN ('caller-left', 'mixed'));
ALTER TABLE recordings ADD COLUMN instance_id text;
ALTER TABLE recordings ADD COLUMN error text;
-- Keyset pagination (started_at DESC, id DESC) and the per-call lookup.
DROP INDEX recordings_started_idx;
CREATE INDEX recordings_started_idx ON recordings (started_at DESC, id DESC);
-- Transcript lines of a call are call_events of type 'transcript'.
CREATE INDEX call_events_transcript_idx ON call_events (call_id, id) WHERE type = 'transcript';
