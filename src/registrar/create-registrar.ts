import type { Config } from '../config';
import type { Clock } from '../util';
import { Registrar, type RegistrarLogger, type RegistrarOptions } from './registrar';

export interface RegistrarDeps {
  readonly db: RegistrarOptions['db'];
  readonly config: Pick<Config, 'sip' | 'registrar' | 'cluster'>;
  readonly clock?: Clock;
  readonly logger?: RegistrarLogger;
}

/**
 * The registrar configured from SIP_DOMAIN (realm), SIP_PUBLIC_ADDRESS (accepted as an alias of the domain),
 * SIP_REGISTRAR_SECRET and REGISTER_*_EXPIRES_S, with its purge timer started. Serve it with
 * `ua.handle('REGISTER', (req) => registrar.handleRegister(req))`.
 */
export function createRegistrar(deps: RegistrarDeps): Registrar {
  const { sip, registrar, cluster } = deps.config;
  const aliases = [sip.publicAddress];
  if (sip.bindAddress !== '0.0.0.0' && sip.bindAddress !== '::') aliases.push(sip.bindAddress);
  const r = new Registrar({
    db: deps.db,
    domain: sip.domain,
    aliases,
    secret: registrar.secret,
    instanceId: cluster.instanceId,
    clock: deps.clock,
    logger: deps.logger,
    algorithms: registrar.digestAlgorithms,
    expires: { minS: registrar.minExpiresS, maxS: registrar.maxExpiresS, defaultS: registrar.defaultExpiresS },
  });
  r.start();
  return r;
}
