/**
 * The environment variables the server reads: one table that both `loadConfig` (defaults) and the
 * README (`configDocs()`) use, so documentation and behaviour cannot drift apart.
 */
export interface ConfigVariable {
  readonly name: string;
  /** Default fed to the parser when the variable is unset or empty; absent = no value. */
  readonly default?: string;
  /** How a default computed at start-up (host name, address) is shown in the documentation. */
  readonly defaultDoc?: string;
  readonly description: string;
}

export const CONFIG_VARIABLES = [
  // General
  { name: 'NODE_ENV', default: 'development', description: 'development, production or test. production enforces secret and TLS rules.' },
  { name: 'INSTANCE_ID', defaultDoc: '`<hostname>-<pid>`', description: 'Name of this instance in the cluster (instances table, CDR instance_id). Letters, digits, . _ - (max 64).' },
  { name: 'LOG_LEVEL', default: 'info', description: 'trace, debug, info, warn, error, fatal or silent.' },
  { name: 'SHUTDOWN_GRACE_S', default: '30', description: 'On SIGTERM, seconds to let calls finish before they are hung up.' },
  // SIP
  { name: 'SIP_DOMAIN', defaultDoc: '`<hostname>` or `localhost`', description: 'SIP domain this server is authoritative for (Request-URI host, registrar realm).' },
  { name: 'SIP_BIND_ADDRESS', default: '0.0.0.0', description: 'Local IP address the SIP listeners bind to.' },
  { name: 'SIP_PUBLIC_ADDRESS', defaultDoc: 'first non-internal IPv4, else `127.0.0.1`', description: 'Address advertised in Via, Contact and SDP (set it behind NAT).' },
  { name: 'SIP_PORT', default: '5060', description: 'UDP and TCP SIP port (0 = ephemeral, for tests).' },
  { name: 'SIP_TLS_PORT', default: '5061', description: 'TLS SIP port (0 = ephemeral, for tests).' },
  { name: 'SIP_TRANSPORTS', default: 'udp,tcp,tls', description: 'Comma-separated SIP transports to listen on: udp, tcp, tls.' },
  { name: 'TLS_CERT_FILE', description: 'PEM certificate chain for SIP over TLS. Required for tls in production.' },
  { name: 'TLS_KEY_FILE', description: 'PEM private key matching TLS_CERT_FILE.' },
  { name: 'SIP_T1_MS', default: '500', description: 'RFC 3261 T1, round-trip estimate (ms).' },
  { name: 'SIP_T2_MS', default: '4000', description: 'RFC 3261 T2, maximum retransmit interval for non-INVITE requests and INVITE responses (ms).' },
  { name: 'SIP_T4_MS', default: '5000', description: 'RFC 3261 T4, maximum time a message stays in the network (ms).' },
  { name: 'SESSION_MIN_SE', default: '90', description: 'Smallest RFC 4028 session interval accepted from callers (Min-SE, s); shorter Session-Expires get 422. RFC 4028 §4 forbids values under 90; lower ones exist for tests only.' },
  { name: 'SIP_MAX_MESSAGE_BYTES', default: '65535', description: 'Largest SIP message accepted on any transport (bytes).' },
  { name: 'SIP_TCP_IDLE_TIMEOUT_S', default: '300', description: 'Close TCP/TLS connections idle this long (s).' },
  { name: 'SIP_ALLOWED_CIDRS', description: 'Comma-separated CIDRs allowed to send SIP (trunk provider ranges). Empty = any source.' },
  { name: 'SIP_FLOOD_MAX_REQUESTS', default: '2000', description: 'Flood detector (like Kamailio pike): SIP requests one source IP may send per SIP_FLOOD_WINDOW_S before it is banned. 0 = off.' },
  { name: 'SIP_FLOOD_WINDOW_S', default: '2', description: 'Sliding window of the SIP flood detector (s).' },
  { name: 'SIP_FLOOD_BAN_S', default: '60', description: 'How long a flooding source is ignored (s).' },
  { name: 'OVERLOAD_LAG_MS', default: '250', description: 'Overload control: when the smoothed event-loop lag exceeds this (ms), new calls (initial INVITEs) and out-of-dialog OPTIONS get 503 with Retry-After until it falls below half of it; calls in progress are served as usual. 0 = off.' },
  { name: 'OVERLOAD_BUSY_PCT', default: '95', description: 'Overload control: when the event loop is busy (not waiting for I/O) at least this percentage of each of 3 consecutive 50 ms windows, a share of new calls (initial INVITEs, refused with a stateless 503 + Retry-After) and out-of-dialog OPTIONS is refused: 1/4 at first, more for every further saturated window, less for every window with idle time (busy 15 points under it), until all are admitted again. Reacts before a backlog of unread datagrams builds. 0 = off.' },
  { name: 'OVERLOAD_RETRY_AFTER_S', default: '5', description: 'Retry-After (s) of the 503 answers sent while overloaded (RFC 3261 §20.33).' },
  { name: 'SIP_LOG_MESSAGES', default: 'false', description: 'Log every SIP message at debug level (true/false).' },
  { name: 'SIP_TEST_NUMBER', description: 'Dialled number answered by the built-in test responder. Empty = off (unless DEFAULT_ROUTE=answer).' },
  { name: 'SIP_ANSWER_DELAY_MS', default: '0', description: 'How long the answer route rings (180) before it answers (ms); lets operators test CANCEL and ringback.' },
  { name: 'DEFAULT_ROUTE', default: 'ai', description: 'What inbound calls to numbers without settings get: ai, answer, echo or reject.' },
  { name: 'BLOCKED_CALL_STATUS', default: '603', description: 'SIP final status sent to blocked callers (400-699; 603 Decline by default, 486 or 480 hide the block).' },
  { name: 'RING_MODE', default: 'ringback', description: 'How callers hear ringing while a call is set up: ringback (180, their phone plays it) or early-media (183 with SDP, we play it). Per number: numbers.ring_mode.' },
  { name: 'OUTBOUND_PROXY', description: 'Static outbound trunk for calls to numbers: host[:port][;transport=tcp|tls]. Empty = only SIP URIs can be dialled.' },
  { name: 'OUTBOUND_USERNAME', description: 'Digest username for the outbound trunk (answers 401/407 challenges).' },
  { name: 'OUTBOUND_PASSWORD', description: 'Digest password for the outbound trunk.' },
  // Trunks and registrar
  { name: 'TRUNK_OPTIONS_INTERVAL_S', default: '30', description: 'Interval of the OPTIONS health pings sent to each enabled trunk (s). 0 = no pings.' },
  { name: 'TRUNK_DOWN_AFTER', default: '3', description: 'Consecutive missed OPTIONS pings (timeout, transport error, 5xx) after which a trunk is marked down and skipped by route choice.' },
  { name: 'TRUNK_UP_AFTER', default: '2', description: 'Consecutive answered OPTIONS pings after which a down trunk is marked up again.' },
  { name: 'TRUNK_REGISTER_RETRY_MAX_S', default: '300', description: 'Longest wait between retries of a failed trunk registration (exponential backoff from 5 s) (s).' },
  { name: 'OPEN_INBOUND', default: 'false', description: 'Accept calls to our numbers from sources that are not a trunk (true/false). false answers them 403.' },
  { name: 'SIP_REGISTRAR_SECRET', description: 'Key (at least 16 characters) of the registrar digest nonces; set the same value on every instance. Unset = a random key per process (nonces then verify only on the instance that issued them).' },
  { name: 'REGISTER_MIN_EXPIRES_S', default: '60', description: 'Shortest registration interval the registrar accepts; shorter requests get 423 Interval Too Brief with Min-Expires (s).' },
  { name: 'REGISTER_MAX_EXPIRES_S', default: '3600', description: 'Longest registration interval the registrar grants; longer requests are shortened to it (s).' },
  { name: 'REGISTER_DIGEST_ALGORITHMS', default: 'SHA-256,MD5', description: 'Digest algorithms the registrar offers, preferred first (RFC 8760): SHA-256, MD5. Put MD5 first (or alone) for phones that answer only the first challenge.' },
  { name: 'REGISTER_DEFAULT_EXPIRES_S', default: '3600', description: 'Registration interval granted when a REGISTER names none (s).' },
  // RTP
  { name: 'RTP_PORT_MIN', default: '10000', description: 'Lowest RTP port (even; RTCP uses the next odd port).' },
  { name: 'RTP_PORT_MAX', default: '20000', description: 'Highest RTP port (even, greater than RTP_PORT_MIN).' },
  { name: 'RTP_TIMEOUT_S', default: '60', description: 'Hang up a call when no RTP arrives for this long (s).' },
  // Storage
  { name: 'DATABASE_URL', description: 'PostgreSQL URL (postgres://user:pass@host:5432/db). Unset = embedded PGlite under DATA_DIR.' },
  { name: 'DATABASE_POOL_MAX', default: '10', description: 'Maximum PostgreSQL connections of this instance.' },
  { name: 'DATA_DIR', default: './data', description: 'Directory for the embedded database and, by default, recordings.' },
  { name: 'RECORDINGS_DIR', defaultDoc: '`<DATA_DIR>/recordings`', description: 'Directory where call recordings (WAV) are written.' },
  { name: 'MOH_DIR', defaultDoc: '`<DATA_DIR>/moh`', description: 'Directory with music-on-hold and prompt WAV files.' },
  { name: 'MOH_MODE', default: 'shared', description: 'How music on hold plays (queues and hold): `shared`, one stream per track that every waiting or held caller joins where it has reached (as a PBX plays it), or `per-listener`, the track from its start for each caller.' },
  {
    name: 'TTS_COMMAND',
    defaultDoc: '`espeak-ng -v {voice} -w {out} {text}` when `espeak-ng` is on PATH at start, else none',
    description:
      'Text-to-speech command for IVR and queue prompts given as text (run without a shell; `{out}`, `{text}`, `{voice}` are substituted). `none` = no TTS: text prompts are skipped and queue announcements use `queue-announce.wav` or a tone cue.',
  },
  { name: 'TRANSCRIBER_URL', description: 'HTTP(S) endpoint that receives each completed recording (audio/wav POST) after the call and answers its transcript as JSON. Empty = off.' },
  { name: 'INSTANCE_HEARTBEAT_S', default: '5', description: 'Interval of the instance heartbeat in the instances table (s); an instance is dead after 3 missed beats.' },
  // REST API
  { name: 'API_PORT', default: '8000', description: 'HTTP port of the REST API, /health and /metrics (0 = ephemeral, for tests).' },
  { name: 'API_BIND_ADDRESS', default: '0.0.0.0', description: 'Local IP address the REST API binds to.' },
  { name: 'API_ALLOWED_CIDRS', description: 'Comma-separated CIDRs allowed to call the REST API. Empty = any source.' },
  { name: 'API_TRUST_PROXY', default: 'false', description: 'Take the client address from X-Forwarded-For (behind a load balancer) (true/false).' },
  { name: 'JWT_SECRET_KEY', description: 'HS256 secret for API tokens. Required in production (at least 32 characters) unless JWT_PUBLIC_KEY_FILE is set.' },
  { name: 'JWT_PUBLIC_KEY_FILE', description: 'PEM public key to verify RS256/ES256 API tokens instead of a shared secret.' },
  { name: 'JWT_AUDIENCE', description: 'When set, API tokens must carry this `aud` claim.' },
  { name: 'JWT_ISSUER', description: 'When set, API tokens must carry this `iss` claim.' },
  { name: 'API_RATE_LIMIT_IP_RPS', default: '20', description: 'Sustained API requests per second per client IP (token bucket, per instance). 0 = no limit.' },
  { name: 'API_RATE_LIMIT_IP_BURST', default: '40', description: 'API requests a client IP may burst above the sustained rate.' },
  { name: 'API_RATE_LIMIT_SUBJECT_RPS', default: '50', description: 'Sustained API requests per second per token subject (`sub`). 0 = no limit.' },
  { name: 'API_RATE_LIMIT_SUBJECT_BURST', default: '100', description: 'API requests a token subject may burst above the sustained rate.' },
  { name: 'API_CORS_ORIGINS', description: 'Comma-separated browser origins allowed by CORS (https://console.example.com), or *. Empty = CORS off.' },
  { name: 'API_BODY_LIMIT_BYTES', default: '65536', description: 'Largest JSON request body the API accepts (bytes); larger bodies get 413.' },
  { name: 'TRUNK_SECRET_KEY', description: 'Secret (at least 32 characters) from which the AES-256-GCM key encrypting stored trunk passwords is derived. Required in production.' },
  { name: 'METRICS_ENABLED', default: 'true', description: 'Serve Prometheus metrics on /metrics (true/false).' },
  { name: 'METRICS_TOKEN', description: 'Bearer token required on /metrics. Empty = no token.' },
  { name: 'WEBHOOK_SIGNING_KEY', description: 'HMAC key used to sign outgoing webhook bodies. Empty = unsigned.' },
  // AI platform
  { name: 'AI_PLATFORM_URL', description: 'WebSocket URL (ws:// or wss://) of the AI platform; one connection per call.' },
  { name: 'AI_PLATFORM_TOKEN', description: 'Bearer token sent when connecting to the AI platform.' },
  { name: 'AI_PROTOCOL', default: 'native', description: 'Bridge message format: native, twilio (Media Streams) or jambonz.' },
  { name: 'AI_CONNECT_TIMEOUT_MS', default: '3000', description: 'Give up connecting to the AI platform after this long (ms).' },
  { name: 'AI_RECONNECT_S', default: '10', description: 'During a call, keep trying to reconnect a dropped AI connection for this long (s).' },
  { name: 'AI_FALLBACK', default: 'hangup', description: 'What a call on the ai route gets when the AI platform is unreachable (or lost for good mid-call): hangup (play AI_FALLBACK_MESSAGE, then hang up), transfer:<number or SIP URI>, or queue:<queue id>. The CDR or call timeline says ai-unavailable.' },
  { name: 'AI_FALLBACK_MESSAGE', description: 'WAV file played to the caller before the ai-unavailable fallback hangs up (or when its transfer or queue fails). Empty = no message.' },
  { name: 'TWILIO_ACCOUNT_SID', description: 'AccountSid (AC + 32 hex) shown to AI agents in Twilio mode and required, with TWILIO_AUTH_TOKEN, by the Twilio-shaped hang-up endpoint POST /2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}.json. Empty = derived per number; endpoint off.' },
  { name: 'TWILIO_AUTH_TOKEN', description: 'Password of HTTP basic auth (AccountSid:AuthToken) on the Twilio-shaped REST endpoint. Empty = endpoint off.' },
  { name: 'AI_MAX_SESSIONS', default: '100', description: 'Concurrent AI sessions the AI platform accepts from this instance; queues hand callers to AI targets only below it. 0 = no limit.' },
  // SMS
  { name: 'SMS_GATEWAY_URI', description: 'SIP URI of the SMS gateway every outbound MESSAGE goes to (sip:gw.example.com:5060, sip:sms@gw.example.com;transport=tcp). Unset = through the stored SIP trunks (prefix match, priority).' },
  { name: 'SMS_GATEWAY_USERNAME', description: 'Digest username answering 401/407 challenges of the SMS gateway.' },
  { name: 'SMS_GATEWAY_PASSWORD', description: 'Digest password for the SMS gateway.' },
  { name: 'SMS_SEGMENTING', default: 'false', description: 'Send a long text as one MESSAGE per SMS segment (X-SMS-Concat) instead of one MESSAGE with the whole text (true/false).' },
  { name: 'SMS_MAX_ATTEMPTS', default: '5', description: 'Send attempts per outbound message (first one included) before it is marked failed; 408 and 5xx answers are retried with exponential backoff.' },
  // Accepted for compatibility with the original deployment files, without effect.
  { name: 'KAMAILIO_SHARED_MEMORY', description: 'Accepted and ignored (no Kamailio here; kept so old deployment files still start).' },
  { name: 'KAMAILIO_PKG_MEMORY', description: 'Accepted and ignored (no Kamailio here; kept so old deployment files still start).' },
] as const satisfies readonly ConfigVariable[];

export type ConfigVariableName = (typeof CONFIG_VARIABLES)[number]['name'];

const byName = new Map<string, ConfigVariable>(CONFIG_VARIABLES.map((v) => [v.name, v]));

/** The table entry of a variable (always defined for a `ConfigVariableName`). */
export function configVariable(name: ConfigVariableName): ConfigVariable {
  return byName.get(name) as ConfigVariable;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

/** The variables as a markdown table (header plus one row per variable) for the README. */
export function configDocs(): string {
  const rows = ['| Variable | Default | Description |', '| --- | --- | --- |'];
  for (const v of CONFIG_VARIABLES as readonly ConfigVariable[]) {
    const def = v.defaultDoc ?? (v.default !== undefined ? `\`${v.default}\`` : '(unset)');
    rows.push(`| \`${v.name}\` | ${cell(def)} | ${cell(v.description)} |`);
  }
  return rows.join('\n');
}
