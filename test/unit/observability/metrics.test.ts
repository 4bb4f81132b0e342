import { createMetrics, type Metrics } from '../../../src/observability';

/** Value of one series in Prometheus text (`name{labels} value`); undefined when absent. */
function sample(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

// Text exposition format 0.0.4: comments, or `name{labels} value`; values are Go floats, whose parser
// accepts NaN and Inf in any letter case (prom-client writes `Nan` for an empty event-loop histogram).
const LINE = /^(#.*|[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? (-?[0-9.]+(e[+-]?[0-9]+)?|nan|[+-]?inf))?$/i;

describe('createMetrics', () => {
  let m: Metrics;
  beforeEach(() => {
    m = createMetrics();
  });

  it('renders valid Prometheus text with every metric family named', async () => {
    const text = await m.render();
    for (const line of text.split('\n')) expect(line).toMatch(LINE);
    const names = [
      'sip_messages_total',
      'sip_parse_errors_total',
      'sip_dropped_total',
      'sip_transactions_active',
      'sip_dialogs_active',
      'calls_active',
      'calls_total',
      'calls_started_total',
      'call_setup_seconds',
      'call_duration_seconds',
      'rtp_packets_total',
      'rtp_packets_lost_total',
      'rtp_jitter_seconds',
      'rtp_dropped_total',
      'media_sessions_active',
      'rtp_ports_in_use',
      'bridge_connections_active',
      'bridge_connect_total',
      'bridge_audio_latency_seconds',
      'sms_messages_total',
      'sms_queue_depth',
      'trunk_up',
      'http_requests_total',
      'http_request_duration_seconds',
      'process_cpu_user_seconds_total',
      'nodejs_eventloop_lag_seconds',
    ];
    for (const name of names) expect(text).toContain(`# TYPE ${name} `);
    expect(m.contentType).toContain('text/plain');
  });

  it('counts SIP messages by method, direction and status class, folding unknown methods', async () => {
    m.sip.message('in', 'INVITE');
    m.sip.message('in', 'INVITE');
    m.sip.message('out', 'INVITE', 180);
    m.sip.message('out', 'INVITE', 486);
    m.sip.message('in', 'FOOBAR');
    m.sip.message('in', 'OPTIONS', 999);
    const text = await m.render();
    expect(sample(text, 'sip_messages_total{method="INVITE",direction="in",status_class="request"}')).toBe(2);
    expect(sample(text, 'sip_messages_total{method="INVITE",direction="out",status_class="1xx"}')).toBe(1);
    expect(sample(text, 'sip_messages_total{method="INVITE",direction="out",status_class="4xx"}')).toBe(1);
    expect(sample(text, 'sip_messages_total{method="OTHER",direction="in",status_class="request"}')).toBe(1);
    expect(sample(text, 'sip_messages_total{method="OPTIONS",direction="in",status_class="other"}')).toBe(1);
    expect(text).not.toContain('FOOBAR');
  });

  it('counts parse errors and drops by reason', async () => {
    m.sip.parseError('udp');
    m.sip.parseError('udp');
    m.sip.dropped('flood');
    m.sip.dropped('acl');
    m.sip.dropped('parse');
    const text = await m.render();
    expect(sample(text, 'sip_parse_errors_total{transport="udp"}')).toBe(2);
    expect(sample(text, 'sip_dropped_total{reason="flood"}')).toBe(1);
    expect(sample(text, 'sip_dropped_total{reason="acl"}')).toBe(1);
    expect(sample(text, 'sip_dropped_total{reason="parse"}')).toBe(1);
  });

  it('reads gauges from sources at scrape time and survives a failing source', async () => {
    let tx = 3;
    m.sip.setTransactionsSource(() => tx);
    m.sip.setDialogsSource(() => 2);
    m.calls.setActiveSource(() => 1);
    m.rtp.setSessionsSource(() => {
      throw new Error('closing');
    });
    expect(sample(await m.render(), 'sip_transactions_active')).toBe(3);
    tx = 5;
    const text = await m.render();
    expect(sample(text, 'sip_transactions_active')).toBe(5);
    expect(sample(text, 'sip_dialogs_active')).toBe(2);
    expect(sample(text, 'calls_active')).toBe(1);
    expect(sample(text, 'media_sessions_active')).toBe(0);
  });

  it('records calls, RTP, bridge, SMS and HTTP', async () => {
    m.calls.started('inbound');
    m.calls.ended('inbound', 'completed');
    m.calls.setupSeconds('inbound', 0.08);
    m.calls.durationSeconds('inbound', 42);
    m.rtp.packetsIn();
    m.rtp.packetsIn(49);
    m.rtp.packetsOut(50);
    m.rtp.packetsLost(2);
    m.rtp.packetsLost(0);
    m.rtp.jitter(0.012);
    m.rtp.dropped('malformed');
    m.bridge.connectAttempt('ok');
    m.bridge.audioLatency(0.03);
    m.bridge.framesDropped(3);
    m.bridge.reconnect();
    m.sms.message('out', 'delivered');
    m.http.request('get', '/api/calls/:id', 200, 0.004);
    m.http.request('BREW', '/coffee', 418, 0.001);
    const text = await m.render();
    expect(sample(text, 'calls_started_total{direction="inbound"}')).toBe(1);
    expect(sample(text, 'calls_total{direction="inbound",state="completed"}')).toBe(1);
    expect(sample(text, 'call_setup_seconds_count{direction="inbound"}')).toBe(1);
    expect(sample(text, 'call_setup_seconds_bucket{le="0.1",direction="inbound"}')).toBe(1);
    expect(sample(text, 'call_duration_seconds_sum{direction="inbound"}')).toBe(42);
    expect(sample(text, 'rtp_packets_total{direction="in"}')).toBe(50);
    expect(sample(text, 'rtp_packets_total{direction="out"}')).toBe(50);
    expect(sample(text, 'rtp_packets_lost_total')).toBe(2);
    expect(sample(text, 'rtp_jitter_seconds_count')).toBe(1);
    expect(sample(text, 'rtp_dropped_total{reason="malformed"}')).toBe(1);
    expect(sample(text, 'bridge_connect_total{result="ok"}')).toBe(1);
    expect(sample(text, 'bridge_audio_latency_seconds_count')).toBe(1);
    expect(sample(text, 'bridge_frames_dropped_total')).toBe(3);
    expect(sample(text, 'bridge_reconnects_total')).toBe(1);
    expect(sample(text, 'sms_messages_total{direction="out",status="delivered"}')).toBe(1);
    expect(sample(text, 'http_requests_total{method="GET",route="/api/calls/:id",status="200"}')).toBe(1);
    expect(sample(text, 'http_requests_total{method="OTHER",route="/coffee",status="418"}')).toBe(1);
    expect(sample(text, 'http_request_duration_seconds_count{method="GET",route="/api/calls/:id"}')).toBe(1);
  });

  it('tracks trunk state and forgets removed trunks', async () => {
    m.trunks.setUp('t1', true);
    m.trunks.setUp('t1', true);
    m.trunks.setUp('t1', false);
    m.trunks.setUp('t2', true);
    let text = await m.render();
    expect(sample(text, 'trunk_up{trunk="t1"}')).toBe(0);
    expect(sample(text, 'trunk_up{trunk="t2"}')).toBe(1);
    expect(sample(text, 'trunk_state_changes_total{trunk="t1",state="up"}')).toBe(1);
    expect(sample(text, 'trunk_state_changes_total{trunk="t1",state="down"}')).toBe(1);
    m.trunks.remove('t1');
    text = await m.render();
    expect(text).not.toContain('trunk="t1"');
    expect(sample(text, 'trunk_up{trunk="t2"}')).toBe(1);
  });

  it('keeps registries independent and supports a prefix without process metrics', async () => {
    const other = createMetrics({ prefix: 'aivoice_', processMetrics: false, defaultLabels: { instance_id: 'n1' } });
    m.sip.parseError('tcp');
    const text = await other.render();
    expect(text).toContain('# TYPE aivoice_sip_parse_errors_total counter');
    expect(text).not.toContain('process_cpu');
    expect(text).not.toContain('transport="tcp"');
    other.sip.dropped('flood');
    expect(sample(await other.render(), 'aivoice_sip_dropped_total{reason="flood",instance_id="n1"}')).toBe(1);
  });
});
