import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { type Component, Lifecycle, runUntilSignal } from './lifecycle.js';
import { createLogger } from './log.js';

const logger = createLogger({ level: 'silent', name: 'test' });

/** A component that records its calls in a shared journal; start or stop can be made to fail or wait. */
function component(
  name: string,
  journal: string[],
  behaviour: { start?: () => Promise<void>; stop?: () => Promise<void> } = {},
): Component {
  return {
    name,
    async start() {
      journal.push(`start ${name}`);
      await behaviour.start?.();
    },
    async stop() {
      journal.push(`stop ${name}`);
      await behaviour.stop?.();
    },
  };
}

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Polls instead of sleeping a guessed time. */
async function until(condition: () => boolean): Promise<void> {
  for (let attempt = 0; attempt < 200 && !condition(); attempt += 1) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  expect(condition()).toBe(true);
}

describe('Lifecycle', () => {
  it('starts components in order and stops them in reverse', async () => {
    const journal: string[] = [];
    const lifecycle = new Lifecycle(['sink', 'worker', 'source'].map((name) => component(name, journal)), { logger });
    await lifecycle.start();
    expect(lifecycle.state).toBe('running');
    await lifecycle.stop();
    expect(lifecycle.state).toBe('stopped');
    expect(journal).toEqual(['start sink', 'start worker', 'start source', 'stop source', 'stop worker', 'stop sink']);
  });

  it('stops each component once however often stop is called', async () => {
    const journal: string[] = [];
    const lifecycle = new Lifecycle([component('a', journal)], { logger });
    await lifecycle.start();
    const first = lifecycle.stop();
    expect(lifecycle.stop()).toBe(first);
    await first;
    await lifecycle.stop();
    expect(journal).toEqual(['start a', 'stop a']);
  });

  it('does nothing when stopped before start, and refuses to start afterwards', async () => {
    const journal: string[] = [];
    const lifecycle = new Lifecycle([component('a', journal)], { logger });
    await lifecycle.stop();
    await expect(lifecycle.start()).rejects.toThrow('cannot start a lifecycle that is stopped');
    expect(journal).toEqual([]);
  });

  it('refuses a second start', async () => {
    const lifecycle = new Lifecycle([], { logger });
    await lifecycle.start();
    await expect(lifecycle.start()).rejects.toThrow('cannot start a lifecycle that is running');
  });

  it('stops what already started when a start fails, and rethrows that failure', async () => {
    const journal: string[] = [];
    const failure = new Error('bind EADDRINUSE');
    const lifecycle = new Lifecycle(
      [
        component('sink', journal),
        component('worker', journal),
        component('source', journal, { start: () => Promise.reject(failure) }),
        component('api', journal),
      ],
      { logger },
    );
    await expect(lifecycle.start()).rejects.toBe(failure);
    expect(journal).toEqual(['start sink', 'start worker', 'start source', 'stop worker', 'stop sink']);
    expect(lifecycle.state).toBe('stopped');
  });

  it('rethrows the start failure even when stopping the others fails too', async () => {
    const journal: string[] = [];
    const failure = new Error('start failed');
    const lifecycle = new Lifecycle(
      [
        component('a', journal, { stop: () => Promise.reject(new Error('stop failed')) }),
        component('b', journal, { start: () => Promise.reject(failure) }),
      ],
      { logger },
    );
    await expect(lifecycle.start()).rejects.toBe(failure);
    expect(journal).toEqual(['start a', 'start b', 'stop a']);
  });

  it('stops the remaining components when one fails to stop, then reports the failures', async () => {
    const journal: string[] = [];
    const lifecycle = new Lifecycle(
      [component('a', journal), component('b', journal, { stop: () => Promise.reject(new Error('flush timed out')) }), component('c', journal)],
      { logger },
    );
    await lifecycle.start();
    const stopped = lifecycle.stop();
    await expect(stopped).rejects.toBeInstanceOf(AggregateError);
    await expect(stopped).rejects.toMatchObject({ errors: [new Error('flush timed out')] });
    expect(journal.slice(3)).toEqual(['stop c', 'stop b', 'stop a']);
  });

  it('lets a stop during start finish the component in progress, skip the rest and stop what started', async () => {
    const journal: string[] = [];
    const gate = deferred();
    const lifecycle = new Lifecycle(
      [component('a', journal), component('b', journal, { start: () => gate.promise }), component('c', journal)],
      { logger },
    );
    const started = lifecycle.start();
    await until(() => journal.includes('start b'));
    const stopped = lifecycle.stop();
    gate.resolve();
    await started;
    await stopped;
    expect(journal).toEqual(['start a', 'start b', 'stop b', 'stop a']);
    expect(lifecycle.state).toBe('stopped');
  });
});

describe('runUntilSignal', () => {
  function harness(components: Component[], graceMs = 1000) {
    const signals = new EventEmitter();
    const exits: number[] = [];
    const lifecycle = new Lifecycle(components, { logger });
    const run = runUntilSignal(lifecycle, { logger, graceMs, signalSource: signals, exit: (code) => void exits.push(code) });
    return { signals, exits, lifecycle, run };
  }

  it('runs until SIGTERM, then stops everything and stops listening for signals', async () => {
    const journal: string[] = [];
    const { signals, exits, lifecycle, run } = harness([component('a', journal), component('b', journal)]);
    await until(() => lifecycle.state === 'running');
    expect(signals.listenerCount('SIGTERM')).toBe(1);
    signals.emit('SIGTERM', 'SIGTERM');
    await run;
    expect(journal).toEqual(['start a', 'start b', 'stop b', 'stop a']);
    expect(exits).toEqual([]);
    expect(signals.listenerCount('SIGTERM') + signals.listenerCount('SIGINT')).toBe(0);
  });

  it('stops on SIGINT as well', async () => {
    const journal: string[] = [];
    const { signals, lifecycle, run } = harness([component('a', journal)]);
    await until(() => lifecycle.state === 'running');
    signals.emit('SIGINT', 'SIGINT');
    await run;
    expect(journal).toEqual(['start a', 'stop a']);
  });

  it('forces exit code 1 when stopping takes longer than the grace period', async () => {
    const hang = deferred();
    const { signals, exits, lifecycle, run } = harness([component('stuck', [], { stop: () => hang.promise })], 20);
    await until(() => lifecycle.state === 'running');
    signals.emit('SIGTERM', 'SIGTERM');
    await until(() => exits.length > 0);
    expect(exits).toEqual([1]);
    hang.resolve();
    await run;
  });

  it('forces exit code 1 at once on a second signal during shutdown', async () => {
    const hang = deferred();
    const { signals, exits, lifecycle, run } = harness([component('stuck', [], { stop: () => hang.promise })]);
    await until(() => lifecycle.state === 'running');
    signals.emit('SIGTERM', 'SIGTERM');
    expect(exits).toEqual([]);
    signals.emit('SIGINT', 'SIGINT');
    expect(exits).toEqual([1]);
    hang.resolve();
    await run;
  });

  it('rejects with the start failure and stops listening for signals', async () => {
    const failure = new Error('broker unreachable');
    const { signals, run } = harness([component('a', [], { start: () => Promise.reject(failure) })]);
    await expect(run).rejects.toBe(failure);
    expect(signals.listenerCount('SIGTERM')).toBe(0);
  });

  it('stops cleanly when the signal arrives during start-up', async () => {
    const journal: string[] = [];
    const gate = deferred();
    const { signals, exits, run } = harness([component('a', journal, { start: () => gate.promise }), component('b', journal)]);
    await until(() => journal.length === 1);
    signals.emit('SIGTERM', 'SIGTERM');
    gate.resolve();
    await run;
    expect(journal).toEqual(['start a', 'stop a']);
    expect(exits).toEqual([]);
  });
});
