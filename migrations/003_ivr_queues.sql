-- 003_ivr_queues: IVR menus and call queues as the IVR engine and QueueService use them.
-- Applied in one transaction by the migration runner; runs unchanged on PostgreSQL and PGlite.

-- Prompts become JSON: a file path (a JSON string, as the text column held), { "file": ... } or
-- { "text": ..., "voice": ... } rendered by the TTS command.
ALTER TABLE ivr_menus ALTER COLUMN prompt TYPE jsonb USING to_jsonb(prompt);
ALTER TABLE ivr_menus ALTER COLUMN invalid_prompt TYPE jsonb USING to_jsonb(invalid_prompt);
ALTER TABLE ivr_menus ADD COLUMN timeout_prompt jsonb;
-- Taken when the retries are used up (timeout_action, when set, wins after silence).
ALTER TABLE ivr_menus ADD COLUMN default_action jsonb NOT NULL DEFAULT '{"type":"hangup"}'::jsonb;
-- Menus with multi-key options wait up to 8 keys (IVR_KEY_PATTERN).
ALTER TABLE ivr_menus ADD CONSTRAINT ivr_menus_max_digits_range CHECK (max_digits <= 8);

-- Queue definition fields beyond 001: who waits first, how often callers hear their position, and what
-- happens when the queue is full (overflow_action stays the action on max wait).
ALTER TABLE queues ADD COLUMN priority_rules jsonb NOT NULL DEFAULT '[]'::jsonb;
ALTER TABLE queues ADD COLUMN default_priority integer NOT NULL DEFAULT 0;
ALTER TABLE queues ADD COLUMN announce_interval_s integer CHECK (announce_interval_s > 0);
ALTER TABLE queues ADD COLUMN full_action jsonb;

-- Who the waiting caller is (priority rules match on these) and why it has its priority.
ALTER TABLE queue_entries ADD COLUMN from_number text;
ALTER TABLE queue_entries ADD COLUMN to_number text;
ALTER TABLE queue_entries ADD COLUMN trunk_id text;
ALTER TABLE queue_entries ADD COLUMN priority_source text NOT NULL DEFAULT 'default';
ALTER TABLE queue_entries ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();

-- Service order is priority, then arrival. Arrival is the identity value, not enqueued_at: now() is the
-- transaction start, so two concurrent arrivals can carry the same or inverted timestamps, while the
-- sequence hands out values in the order the inserts happen (enqueue holds the queue row lock).
DROP INDEX queue_entries_waiting_idx;
CREATE INDEX queue_entries_waiting_idx ON queue_entries (queue_id, priority DESC, id) WHERE status = 'waiting';
-- A call waits in at most one queue at a time.
CREATE UNIQUE INDEX queue_entries_one_waiting_uq ON queue_entries (call_id) WHERE status = 'waiting';
-- Crash recovery: the waiting callers of one instance.
CREATE INDEX queue_entries_instance_idx ON queue_entries (instance_id) WHERE status = 'waiting';
