-- 004_sms_queue: what the SMS queue and inbound reassembly need beyond 001_init's sms_messages.
-- Applied in one transaction by the migration runner; runs unchanged on PostgreSQL and PGlite.

-- Alphabet the message was counted in ('GSM-7' = 3GPP TS 23.038 default alphabet, 'UCS-2' otherwise), so the
-- API reports what was billed even if the counting rules change later.
ALTER TABLE sms_messages ADD COLUMN encoding text CHECK (encoding IN ('GSM-7', 'UCS-2'));
-- Parts already acknowledged by the peer when a trunk takes one MESSAGE per segment: a retry resumes after them
-- instead of sending the whole text again.
ALTER TABLE sms_messages ADD COLUMN segments_sent integer NOT NULL DEFAULT 0 CHECK (segments_sent >= 0);

-- Outbound work: due queued messages, oldest first (the claim's ORDER BY), and expired leases of crashed workers.
CREATE INDEX sms_messages_queued_idx ON sms_messages (next_attempt_at, created_at) WHERE status = 'queued';
CREATE INDEX sms_messages_lease_idx ON sms_messages (locked_until) WHERE status = 'sending';

-- Parts of concatenated inbound messages (X-SMS-Concat header) waiting for their siblings. Kept in the database,
-- not in memory, so parts of one message may reach different instances and an acknowledged part survives a
-- restart. A complete set is turned into one sms_messages row by a single DELETE ... RETURNING statement.
CREATE TABLE sms_inbound_parts (
  from_number  text NOT NULL,
  to_number    text NOT NULL,
  ref          integer NOT NULL CHECK (ref BETWEEN 0 AND 65535),
  total        integer NOT NULL CHECK (total BETWEEN 2 AND 255),
  seq          integer NOT NULL CHECK (seq BETWEEN 1 AND 255),
  body         text NOT NULL,
  encoding     text NOT NULL CHECK (encoding IN ('GSM-7', 'UCS-2')),
  trunk_id     uuid,
  sip_call_id  text,
  received_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (from_number, to_number, ref, seq)
);
CREATE INDEX sms_inbound_parts_received_idx ON sms_inbound_parts (received_at);
