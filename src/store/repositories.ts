import { BlockedNumberRepository } from './blocked-number-repository';
import { CallEventRepository } from './call-event-repository';
import { CallRepository } from './call-repository';
import type { Queryable } from './database';
import { InstanceRepository } from './instance-repository';
import { IvrMenuRepository } from './ivr-menu-repository';
import { NumberRepository } from './number-repository';
import { QueueRepository } from './queue-repository';
import type { SecretCipher } from './secret-cipher';
import { SmsRepository } from './sms-repository';
import { TrunkRepository } from './trunk-repository';
import { RegistrationRepository } from './registration-repository';
import { SipUserRepository } from './sip-user-repository';

/** Every repository over one handle: the database, or a `tx` inside `transaction()` for atomic multi-table writes. */
export interface Repositories {
  calls: CallRepository;
  callEvents: CallEventRepository;
  numbers: NumberRepository;
  blockedNumbers: BlockedNumberRepository;
  instances: InstanceRepository;
  trunks: TrunkRepository;
  sms: SmsRepository;
  ivrMenus: IvrMenuRepository;
  queues: QueueRepository;
  registrations: RegistrationRepository;
  sipUsers: SipUserRepository;
}

export interface RepositoryOptions {
  /** Seals trunk passwords; without it trunk records work but passwords cannot be stored or read. */
  secretCipher?: SecretCipher;
}

export function createRepositories(db: Queryable, options: RepositoryOptions = {}): Repositories {
  return {
    calls: new CallRepository(db),
    callEvents: new CallEventRepository(db),
    numbers: new NumberRepository(db),
    blockedNumbers: new BlockedNumberRepository(db),
    instances: new InstanceRepository(db),
    trunks: new TrunkRepository(db, options.secretCipher),
    sms: new SmsRepository(db),
    ivrMenus: new IvrMenuRepository(db),
    queues: new QueueRepository(db),
    registrations: new RegistrationRepository(db),
    sipUsers: new SipUserRepository(db),
  };
}
