import type { Config } from '../config';
import type { Clock } from '../util';
import { TrunkRegistry, type TrunkGauge, type TrunkSource } from './trunk-registry';
import type { TrunkLogger, TrunkRequester } from './trunk-requester';

export interface TrunkServicesDeps {
  /** The SIP user agent (SipUserAgent). */
  readonly ua: TrunkRequester;
  /** The trunk repository, or the repositories bundle holding it. */
  readonly db: TrunkSource | { readonly trunks: TrunkSource };
  readonly clock?: Clock;
  readonly logger?: TrunkLogger;
  /** `metrics` of observability (its `trunks` gauge is used), or the gauge itself. */
  readonly metrics?: { readonly trunks: TrunkGauge } | TrunkGauge;
  readonly config: Pick<Config, 'trunks' | 'sip' | 'registrar'>;
}

function isSource(x: TrunkServicesDeps['db']): x is TrunkSource {
  return typeof (x as TrunkSource).list === 'function';
}

function gaugeOf(m: TrunkServicesDeps['metrics']): TrunkGauge | undefined {
  if (m === undefined) return undefined;
  return 'trunks' in m ? m.trunks : m;
}

/**
 * Builds the trunk registry from the configuration (TRUNK_OPTIONS_INTERVAL_S, TRUNK_DOWN_AFTER, TRUNK_UP_AFTER,
 * TRUNK_REGISTER_RETRY_MAX_S, OPEN_INBOUND; SIP_DOMAIN, SIP_REGISTRAR_SECRET and REGISTER_DIGEST_ALGORITHMS for inbound digest), loads the trunks and starts registrations and pings. `close()` it
 * before the user agent closes so the de-registrations can still leave.
 */
export async function createTrunkServices(deps: TrunkServicesDeps): Promise<TrunkRegistry> {
  const c = deps.config.trunks;
  const registry = new TrunkRegistry({
    requester: deps.ua,
    trunks: isSource(deps.db) ? deps.db : deps.db.trunks,
    clock: deps.clock,
    logger: deps.logger,
    metrics: gaugeOf(deps.metrics),
    optionsIntervalMs: c.optionsIntervalS * 1000,
    downAfter: c.downAfter,
    upAfter: c.upAfter,
    registerRetryMaxMs: c.registerRetryMaxS * 1000,
    openInbound: c.openInbound,
    // Inbound digest: the registrar's realm (SIP_DOMAIN), nonce key and algorithms (REGISTER_DIGEST_ALGORITHMS).
    inboundAuth: { domain: deps.config.sip.domain, secret: deps.config.registrar.secret, algorithms: deps.config.registrar.digestAlgorithms },
  });
  await registry.start();
  return registry;
}
