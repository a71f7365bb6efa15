import type { Clock } from '../../src/clock';

/** A clock whose sleep returns at once and moves time forward, recording each delay. */
export class FakeClock implements Clock {
  readonly sleeps: number[] = [];

  constructor(private time = Date.UTC(2026, 5, 15, 12, 0, 0)) {}

  now(): number {
    return this.time;
  }

  sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.time += ms;
    return Promise.resolve();
  }
}
