import { emitForemanEvent } from "../events/foreman-events.js";
import { CircuitOpenError, isOutageError } from "./errors.js";

/** Consecutive counted failures that open a circuit. */
export const DEFAULT_FAILURE_THRESHOLD = 5;

/** How long an open circuit fails calls fast before it lets one probe through. */
export const DEFAULT_OPEN_MS = 60_000;

/** Where a breaker stands: `half_open` means the next call is the probe (or the probe is under way). */
export const CircuitState = Object.freeze({ closed: "closed", open: "open", halfOpen: "half_open" } as const);

/** A circuit state's value. */
export type CircuitState = (typeof CircuitState)[keyof typeof CircuitState];

/** How a breaker behaves. */
export interface CircuitBreakerOptions {
  /** The protected service as users know it ("GitHub", "Docker"), for CircuitOpenError. */
  service: string;
  /** Which breaker of the service this is (a GitHub installation's id), for metrics; default the service. */
  key?: string;
  threshold?: number;
  openMs?: number;
  now?: () => number;
  /** Which errors mean the service is out of order; others are answers and reset the count. Default: isOutageError. */
  isFailure?: (error: unknown) => boolean;
  /** Called once per change of state (for logs). */
  onStateChange?: (state: CircuitState) => void;
}

/**
 * A circuit breaker: after `threshold` consecutive failures (network, timeout, 5xx, rate limit;
 * not 404 or 422) calls fail fast with CircuitOpenError for `openMs`, without calling the service.
 * Then exactly one probe call goes through while others keep failing fast: its success (or any
 * answer that is not a failure) closes the circuit, its failure opens it for `openMs` again.
 * Calls passed to `run` must end on their own (run them under a timeout); a probe that has not
 * ended after `openMs` is given up on and the next call probes instead.
 */
export class CircuitBreaker {
  readonly #service: string;
  readonly #key: string;
  readonly #threshold: number;
  readonly #openMs: number;
  readonly #now: () => number;
  readonly #isFailure: (error: unknown) => boolean;
  readonly #onStateChange: ((state: CircuitState) => void) | undefined;
  #state: CircuitState = CircuitState.closed;
  #failures = 0;
  // When the circuit opened, or when the probe went out while half-open.
  #since = 0;
  // Bumped at every change of state: a call that started before it does not count afterwards.
  #generation = 0;

  constructor(options: CircuitBreakerOptions) {
    this.#service = options.service;
    this.#key = options.key ?? options.service;
    this.#threshold = options.threshold ?? DEFAULT_FAILURE_THRESHOLD;
    this.#openMs = options.openMs ?? DEFAULT_OPEN_MS;
    this.#now = options.now ?? Date.now;
    this.#isFailure = options.isFailure ?? isOutageError;
    this.#onStateChange = options.onStateChange;
  }

  /** The state now; an open circuit whose time is up reads as half-open (the next call probes). */
  get state(): CircuitState {
    if (this.#state === CircuitState.open && this.#now() - this.#since >= this.#openMs) return CircuitState.halfOpen;
    return this.#state;
  }

  /** Call `fn` unless the circuit is open (then throw CircuitOpenError without calling it), and count its outcome. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    const generation = this.#admit();
    let result: T;
    try {
      result = await fn();
    } catch (error) {
      this.#settle(generation, !this.#isFailure(error));
      throw error;
    }
    this.#settle(generation, true);
    return result;
  }

  #admit(): number {
    if (this.#state === CircuitState.closed) return this.#generation;
    const waited = this.#now() - this.#since;
    if (waited < this.#openMs) {
      throw new CircuitOpenError(this.#service, this.#state === CircuitState.open ? this.#openMs - waited : 0);
    }
    // Open long enough, or a probe that never ended: this call is the probe.
    this.#change(CircuitState.halfOpen);
    return this.#generation;
  }

  #settle(generation: number, healthy: boolean): void {
    if (generation !== this.#generation) return;
    if (this.#state === CircuitState.halfOpen) {
      this.#change(healthy ? CircuitState.closed : CircuitState.open);
      return;
    }
    if (healthy) {
      this.#failures = 0;
      return;
    }
    this.#failures += 1;
    if (this.#failures >= this.#threshold) this.#change(CircuitState.open);
  }

  #change(state: CircuitState): void {
    const changed = state !== this.#state;
    this.#state = state;
    this.#failures = 0;
    this.#since = this.#now();
    this.#generation += 1;
    if (!changed) return;
    this.#onStateChange?.(state);
    emitForemanEvent({ type: "circuit.changed", service: this.#service, key: this.#key, state });
  }
}

/** Options of a registry: every breaker in it behaves alike; `onStateChange` also gets the key. */
export type CircuitBreakersOptions = Omit<CircuitBreakerOptions, "onStateChange"> & {
  onStateChange?: (key: string, state: CircuitState) => void;
};

/** Breakers by key (one per GitHub installation), each created closed on first use. */
export class CircuitBreakers {
  readonly #breakers = new Map<string, CircuitBreaker>();

  constructor(private readonly options: CircuitBreakersOptions) {}

  /** The breaker for `key`. */
  get(key: string): CircuitBreaker {
    let breaker = this.#breakers.get(key);
    if (!breaker) {
      const { onStateChange, ...options } = this.options;
      breaker = new CircuitBreaker({
        ...options,
        key,
        ...(onStateChange ? { onStateChange: (state: CircuitState) => onStateChange(key, state) } : {}),
      });
      this.#breakers.set(key, breaker);
    }
    return breaker;
  }

  /** Run `fn` through the breaker for `key`. */
  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    return this.get(key).run(fn);
  }
}
