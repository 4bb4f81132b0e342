/** Errors with a stable machine-readable code (undici style). */
export class CodedError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** A method was called on an object in a state that does not allow it (e.g. after close()). */
export class InvalidStateError extends CodedError {
  constructor(message: string) {
    super('ERR_INVALID_STATE', message);
  }
}

/** A feature or parameter the implementation does not support. */
export class UnsupportedError extends CodedError {
  constructor(message: string) {
    super('ERR_UNSUPPORTED', message);
  }
}

/** A bounded resource (ports, channels, queue slots) is exhausted. */
export class ResourceExhaustedError extends CodedError {
  constructor(code: string, message: string) {
    super(code, message);
  }
}
