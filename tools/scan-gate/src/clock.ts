import { setTimeout as delay } from 'node:timers/promises';

/** Time source and sleep, injected so that polling and retries can be tested without waiting. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

/** The real clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => delay(ms),
};
