-- 001_init: the base schema. Applied in one transaction by the migration runner (src/store/migrator.ts);
-- do not add BEGIN/COMMIT here. Runs unchanged on PostgreSQL (>= 13) and on PGlite.

-- Server instances of the cluster. Liveness is judged by the database clock (last_heartbeat_at vs now()),
-- so clock skew between hosts does not matter.
CREATE TABLE instances (
  instance_id        text PRIMARY KEY,
  sip_address        text NOT NULL,
  sip_port           integer NOT NULL CHECK (sip_port BETWEEN 0 AND 65535),
  api_url            text,
  version            text,
  status             text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'draining', 'stopped')),
  active_calls       integer NOT NULL DEFAULT 0 CHECK (active_calls >= 0),
  started_at         timestamptz NOT NULL DEFAULT now(),
  last_heartbeat_at  timestamptz NOT NULL DEFAULT now(),
  metadata           jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX instances_heartbeat_idx ON instances (last_heartbeat_at);

-- SIP trunks (VoIP providers).
CREATE TABLE trunks (
  id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name                  text NOT NULL UNIQUE,
  provider              text,
  proxy_address         text NOT NULL,
  proxy_port            integer NOT NULL DEFAULT 5060 CHECK (proxy_port BETWEEN 1 AND 65535),
  transport             text NOT NULL DEFAULT 'udp' CHECK (transport IN ('udp', 'tcp', 'tls')),
  username              text,
  password              text,
  realm                 text,
  from_domain           text,
  register              boolean NOT NULL DEFAULT false,
  register_expires_s    integer NOT NULL DEFAULT 3600 CHECK (register_expires_s > 0),
  supports_outbound     boolean NOT NULL DEFAULT true,
  supports_inbound      boolean NOT NULL DEFAULT true,
  inbound_cidrs         text[] NOT NULL DEFAULT '{}',
  codecs                text[] NOT NULL DEFAULT '{PCMU,PCMA}',
  dial_prefix           text NOT NULL DEFAULT '',
  strip_digits          integer NOT NULL DEFAULT 0 CHECK (strip_digits >= 0),
  priority              integer NOT NULL DEFAULT 100,
  weight                integer NOT NULL DEFAULT 1 CHECK (weight > 0),
  max_concurrent_calls  integer CHECK (max_concurrent_calls > 0),
  enabled               boolean NOT NULL DEFAULT true,
  status                text NOT NULL DEFAULT 'unknown' CHECK (status IN ('unknown', 'up', 'down')),
  status_changed_at     timestamptz,
  metadata              jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at            timestamptz NOT NULL DEFAULT now(),
  updated_at            timestamptz NOT NULL DEFAULT now()
);

-- Call detail records. call_id is the SIP Call-ID of the leg that created the call (the inbound leg,
-- or our outbound INVITE); durations are seconds. Rows are written when the call starts and updated as
-- it progresses, so a crash leaves an open row that the next start closes (CallRepository.closeOpenCalls).
CREATE TABLE calls (
  id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  call_id             text NOT NULL UNIQUE,
  parent_call_id      text,
  instance_id         text NOT NULL,
  direction           text NOT NULL CHECK (direction IN ('inbound', 'outbound')),
  from_number         text NOT NULL,
  to_number           text NOT NULL,
  from_display        text,
  trunk_id            uuid REFERENCES trunks (id) ON DELETE SET NULL,
  remote_address      text,
  status              text NOT NULL DEFAULT 'initiated'
                        CHECK (status IN ('initiated', 'ringing', 'answered', 'completed', 'failed', 'busy',
                                          'no_answer', 'cancelled', 'rejected')),
  started_at          timestamptz NOT NULL DEFAULT now(),
  answered_at         timestamptz,
  ended_at            timestamptz,
  duration_s          double precision CHECK (duration_s >= 0),
  billable_s          integer CHECK (billable_s >= 0),
  sip_code            smallint CHECK (sip_code BETWEEN 100 AND 699),
  hangup_cause        text,
  hangup_side         text CHECK (hangup_side IN ('caller', 'callee', 'ai', 'api', 'system')),
  codec               text,
  rtp_packets_sent    bigint NOT NULL DEFAULT 0,
  rtp_packets_received bigint NOT NULL DEFAULT 0,
  rtp_bytes_sent      bigint NOT NULL DEFAULT 0,
  rtp_bytes_received  bigint NOT NULL DEFAULT 0,
  rtp_packets_lost    bigint NOT NULL DEFAULT 0,
  rtp_jitter_ms       real,
  mos                 real CHECK (mos BETWEEN 1 AND 5),
  dtmf_digits         text NOT NULL DEFAULT '',
  recording_id        uuid,
  webhook_url         text,
  metadata            jsonb NOT NULL DEFAULT '{}'::jsonb,
  updated_at          timestamptz NOT NULL DEFAULT now()
);
-- History queries: newest first, optionally by number; (started_at, id) is also the pagination key.
CREATE INDEX calls_started_idx ON calls (started_at DESC, id DESC);
CREATE INDEX calls_from_started_idx ON calls (from_number, started_at DESC);
CREATE INDEX calls_to_started_idx ON calls (to_number, started_at DESC);
CREATE INDEX calls_status_started_idx ON calls (status, started_at DESC);
-- Crash recovery: open calls of one instance.
CREATE INDEX calls_open_idx ON calls (instance_id) WHERE ended_at IS NULL;

-- Timeline of a call (state changes, DTMF, transfers, AI actions), in insertion order.
CREATE TABLE call_events (
  id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  call_id   text NOT NULL REFERENCES calls (call_id) ON DELETE CASCADE,
  at        timestamptz NOT NULL DEFAULT now(),
  type      text NOT NULL,
  data      jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX call_events_call_idx ON call_events (call_id, id);

-- IVR menus: a prompt and what each digit does.
CREATE TABLE ivr_menus (
  id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name              text NOT NULL UNIQUE,
  prompt            text NOT NULL,
  invalid_prompt    text,
  timeout_s         integer NOT NULL DEFAULT 5 CHECK (timeout_s > 0),
  inter_digit_timeout_s integer NOT NULL DEFAULT 3 CHECK (inter_digit_timeout_s > 0),
  max_retries       integer NOT NULL DEFAULT 3 CHECK (max_retries >= 0),
  max_digits        integer NOT NULL DEFAULT 1 CHECK (max_digits > 0),
  options           jsonb NOT NULL DEFAULT '{}'::jsonb,
  timeout_action    jsonb,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now()
);

-- Call queues and their waiting callers.
CREATE TABLE queues (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name            text NOT NULL UNIQUE,
  strategy        text NOT NULL DEFAULT 'ring_all' CHECK (strategy IN ('ring_all', 'round_robin', 'longest_idle', 'random')),
  max_size        integer CHECK (max_size > 0),
  max_wait_s      integer CHECK (max_wait_s > 0),
  moh_file        text,
  announce_position boolean NOT NULL DEFAULT false,
  agents          jsonb NOT NULL DEFAULT '[]'::jsonb,
  overflow_action jsonb,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE queue_entries (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  queue_id      uuid NOT NULL REFERENCES queues (id) ON DELETE CASCADE,
  call_id       text NOT NULL,
  instance_id   text NOT NULL,
  priority      integer NOT NULL DEFAULT 0,
  status        text NOT NULL DEFAULT 'waiting' CHECK (status IN ('waiting', 'connected', 'abandoned', 'timeout', 'overflow')),
  enqueued_at   timestamptz NOT NULL DEFAULT now(),
  dequeued_at   timestamptz,
  agent         text
);
-- Next caller to serve: highest priority, then longest waiting.
CREATE INDEX queue_entries_waiting_idx ON queue_entries (queue_id, priority DESC, enqueued_at) WHERE status = 'waiting';
CREATE INDEX queue_entries_call_idx ON queue_entries (call_id);

-- Settings of our numbers (DIDs). A number without a row gets DEFAULT_ROUTE.
CREATE TABLE numbers (
  number                text PRIMARY KEY,
  route                 text NOT NULL DEFAULT 'ai' CHECK (route IN ('ai', 'answer', 'echo', 'reject', 'forward', 'ivr', 'queue')),
  enabled               boolean NOT NULL DEFAULT true,
  description           text,
  max_concurrent_calls  integer CHECK (max_concurrent_calls > 0),
  forward_rules         jsonb NOT NULL DEFAULT '[]'::jsonb,
  ivr_menu_id           uuid REFERENCES ivr_menus (id) ON DELETE SET NULL,
  queue_id              uuid REFERENCES queues (id) ON DELETE SET NULL,
  trunk_id              uuid REFERENCES trunks (id) ON DELETE SET NULL,
  status_callback       text,
  sms_webhook           text,
  recording_enabled     boolean NOT NULL DEFAULT false,
  ai_settings           jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at            timestamptz NOT NULL DEFAULT now(),
  updated_at            timestamptz NOT NULL DEFAULT now()
);

-- Caller numbers refused before any routing; expires_at NULL = permanent.
CREATE TABLE blocked_numbers (
  number      text PRIMARY KEY,
  reason      text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz
);

-- Local SIP users that may REGISTER (digest credentials stored as HA1, RFC 2617 §3.2.2.2 / RFC 8760).
CREATE TABLE sip_users (
  username      text NOT NULL,
  domain        text NOT NULL,
  ha1_md5       text NOT NULL,
  ha1_sha256    text,
  display_name  text,
  enabled       boolean NOT NULL DEFAULT true,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (username, domain)
);

-- Registrar bindings (RFC 3261 §10.3). instance_id is the instance holding the flow, so requests for a
-- TCP/TLS-registered contact go out over that instance's connection (RFC 5626 idea, without outbound).
CREATE TABLE registrations (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  aor           text NOT NULL,
  contact       text NOT NULL,
  instance_id   text NOT NULL,
  call_id       text NOT NULL,
  cseq          integer NOT NULL,
  q             real CHECK (q BETWEEN 0 AND 1),
  expires_at    timestamptz NOT NULL,
  transport     text,
  received      text,
  user_agent    text,
  sip_instance  text,
  reg_id        integer,
  path          text[] NOT NULL DEFAULT '{}',
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  UNIQUE (aor, contact)
);
CREATE INDEX registrations_expires_idx ON registrations (expires_at);

-- SMS over SIP MESSAGE: persistent queue (status/next_attempt_at) and history.
CREATE TABLE sms_messages (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  direction        text NOT NULL CHECK (direction IN ('inbound', 'outbound')),
  from_number      text NOT NULL,
  to_number        text NOT NULL,
  body             text NOT NULL,
  segments         integer NOT NULL DEFAULT 1 CHECK (segments > 0),
  status           text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sending', 'sent', 'delivered', 'failed', 'received')),
  trunk_id         uuid REFERENCES trunks (id) ON DELETE SET NULL,
  attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  max_attempts     integer NOT NULL DEFAULT 5 CHECK (max_attempts > 0),
  next_attempt_at  timestamptz,
  locked_by        text,
  locked_until     timestamptz,
  last_error       text,
  sip_call_id      text,
  sip_code         smallint,
  webhook_url      text,
  metadata         jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at       timestamptz NOT NULL DEFAULT now(),
  sent_at          timestamptz,
  delivered_at     timestamptz,
  updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sms_messages_due_idx ON sms_messages (next_attempt_at) WHERE status IN ('queued', 'sending');
CREATE INDEX sms_messages_created_idx ON sms_messages (created_at DESC, id DESC);
CREATE INDEX sms_messages_from_idx ON sms_messages (from_number, created_at DESC);
CREATE INDEX sms_messages_to_idx ON sms_messages (to_number, created_at DESC);

-- Call recordings (files under RECORDINGS_DIR).
CREATE TABLE recordings (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  call_id       text NOT NULL,
  file_path     text NOT NULL,
  format        text NOT NULL DEFAULT 'wav',
  channels      smallint NOT NULL DEFAULT 1 CHECK (channels IN (1, 2)),
  sample_rate   integer NOT NULL DEFAULT 8000 CHECK (sample_rate > 0),
  status        text NOT NULL DEFAULT 'recording' CHECK (status IN ('recording', 'completed', 'failed', 'deleted')),
  duration_s    double precision CHECK (duration_s >= 0),
  size_bytes    bigint CHECK (size_bytes >= 0),
  started_at    timestamptz NOT NULL DEFAULT now(),
  ended_at      timestamptz,
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX recordings_call_idx ON recordings (call_id);
CREATE INDEX recordings_started_idx ON recordings (started_at DESC);
