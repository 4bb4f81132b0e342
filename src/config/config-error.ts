import { CodedError } from '../util';

/**
 * A configuration value is missing or invalid. Start-up stops with one message that names the
 * environment variable, so an operator can fix the deployment without reading code.
 */
export class ConfigError extends CodedError {
  constructor(
    readonly variable: string,
    reason: string,
  ) {
    super('CONFIG_INVALID', `${variable}: ${reason}`);
  }
}
