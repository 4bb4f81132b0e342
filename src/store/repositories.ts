import { BlockedNumberRepository } from './blocked-number-repository';
import { CallEventRepository } from './call-event-repository';
import { CallRepository } from './call-repository';
import type { Queryable } from './database';
import { InstanceRepository } from './instance-repository';
import { NumberRepository } from './number-repository';

/** Every repository over one handle: the database, or a `tx` inside `transaction()` for atomic multi-table writes. */
export interface Repositories {
  calls: CallRepository;
  callEvents: CallEventRepository;
  numbers: NumberRepository;
  blockedNumbers: BlockedNumberRepository;
  instances: InstanceRepository;
}

export function createRepositories(db: Queryable): Repositories {
  return {
    calls: new CallRepository(db),
    callEvents: new CallEventRepository(db),
    numbers: new NumberRepository(db),
    blockedNumbers: new BlockedNumberRepository(db),
    instances: new InstanceRepository(db),
  };
}
