// Typed errors with stable codes (STYLE.md §9). The API's error handler maps
// `status` to the HTTP response and hides the message of anything 5xx.

export class GatewayError extends Error {
  readonly code: string;
  readonly status: number;

  constructor(code: string, message: string, status = 500, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.status = status;
  }
}

/** Every configuration problem found at start-up, reported together. */
export class ConfigError extends GatewayError {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super('GW_ERR_CONFIG', `invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.problems = problems;
  }
}

/** A client request the API refuses: bad parameters, unknown device or metric. */
export class RequestError extends GatewayError {
  constructor(code: string, message: string, status = 400) {
    super(code, message, status);
  }
}

export class StoreError extends GatewayError {
  /** True when the same write may succeed later (database busy, network down). */
  readonly retriable: boolean;

  constructor(message: string, retriable: boolean, options?: { cause?: unknown }) {
    super('GW_ERR_STORE', message, 503, options);
    this.retriable = retriable;
  }
}

export function isRetriable(err: unknown): boolean {
  return err instanceof StoreError ? err.retriable : true;
}
