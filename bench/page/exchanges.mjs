// The benchmark page's fan-out and RPC workloads (issue 16): exchange subscriptions
// and request/reply, measured through the adapters' subscribe / serve / call (see
// the adapter interface at the top of bench.mjs). bench.mjs hands in its helpers.

/**
 * The two workloads, given bench.mjs's helpers: { adapter(name), within(promise,
 * ms, what), connectOpts(spec), closeQuietly(client), makeBody(size, seed),
 * sleep(ms), describe(error) }.
 */
export function exchangeWorkloads({ adapter, within, connectOpts, closeQuietly, makeBody, sleep, describe }) {
  /**
   * Fan-out: `subs` subscriptions on one connection to a topic exchange (each with
   * its own binding key, every one matching `publishKey`), one publisher on another
   * connection sending `count` confirmed messages of `size` bytes with `window` at
   * most awaiting their receipt; timed from the first publish until every
   * subscription has every message. Then waits `settleMs` for strays: each
   * subscription must have exactly `count`.
   */
  async function fanout(spec) {
    const a = adapter(spec.client);
    const subscriber = await within(a.connect(connectOpts(spec)), 10000, 'connect (subscriber)');
    let publisher;
    try {
      publisher = await within(a.connect(connectOpts(spec)), 10000, 'connect (publisher)');
      const got = new Array(spec.bindingKeys.length).fill(0);
      let remaining = spec.bindingKeys.length;
      let allIn;
      const done = new Promise((resolve) => { allIn = resolve; });
      let badBodies = 0;
      const subs = [];
      for (let i = 0; i < spec.bindingKeys.length; i++) {
        subs.push(await within(subscriber.subscribe({
          exchange: spec.exchange, routingKey: spec.bindingKeys[i], ack: spec.ack, prefetch: spec.prefetch,
          onMessage(body) {
            if (body.length !== spec.size) badBodies++;
            if (++got[i] === spec.count && --remaining === 0) allIn();
          },
        }), 10000, `subscribe ${spec.bindingKeys[i]}`));
      }
      const body = makeBody(spec.size);
      const t0 = performance.now();
      const published = publisher.publishConfirmed({
        destination: `/exchange/${spec.exchange}/${spec.publishKey}`, body, count: spec.count, window: spec.window,
      });
      await within(published, spec.timeoutMs, 'publish');
      const publishMs = performance.now() - t0;
      let outcome = 'completed';
      try {
        await within(done, spec.timeoutMs, 'deliveries');
      } catch (e) {
        outcome = describe(e);
      }
      const ms = performance.now() - t0;
      await sleep(spec.settleMs ?? 300); // anything more would be a stray copy
      for (const s of subs) s.cancel();
      const deliveries = got.reduce((x, y) => x + y, 0);
      const expected = spec.count * spec.bindingKeys.length;
      return {
        error: outcome === 'completed' ? undefined : `${outcome}; ${deliveries}/${expected} delivered (${got.join(', ')})`,
        ms, publishMs, count: spec.count, subscriptions: spec.bindingKeys.length, perSubscription: got, deliveries, badBodies,
        deliveriesPerSec: (expected * 1000) / ms,
        publishPerSec: (spec.count * 1000) / publishMs,
      };
    } finally {
      await closeQuietly(publisher);
      await closeQuietly(subscriber);
    }
  }

  /**
   * RPC round trips: a server connection answers every request on `queue` with its
   * body; a caller connection makes `count` calls, `inFlight` at a time, each body
   * `size` bytes stamped with the call's number; every reply must be its call's body.
   * Calls per second over the whole run, and each call's time from call() to reply.
   */
  async function rpc(spec) {
    const a = adapter(spec.client);
    const serverConn = await within(a.connect(connectOpts(spec)), 10000, 'connect (server)');
    let caller;
    let server;
    try {
      server = await within(serverConn.serve({ queue: spec.queue, prefetch: spec.prefetch }), 10000, 'serve');
      caller = await within(a.connect(connectOpts(spec)), 10000, 'connect (caller)');
      const lat = new Float64Array(spec.count);
      let next = 0;
      let answered = 0;
      let wrong = 0;
      let failed = 0;
      let firstError;
      const one = async () => {
        while (next < spec.count) {
          const n = next++;
          const body = makeBody(spec.size, n);
          new DataView(body.buffer).setUint32(0, n, true);
          const t = performance.now();
          try {
            const reply = await caller.call({ queue: spec.queue, body, timeoutMs: spec.callTimeoutMs });
            lat[n] = performance.now() - t;
            answered++;
            if (reply.length !== body.length || reply.some((b, i) => b !== body[i])) wrong++;
          } catch (e) {
            failed++;
            firstError ??= describe(e);
          }
        }
      };
      const t0 = performance.now();
      const workers = [];
      for (let i = 0; i < spec.inFlight; i++) workers.push(one());
      await within(Promise.all(workers), spec.timeoutMs, 'calls');
      const ms = performance.now() - t0;
      const xs = Array.from(lat).filter((x) => x > 0).sort((x, y) => x - y);
      const pct = (p) => (xs.length ? xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] : NaN);
      const unmatched = typeof caller.unmatchedReplies === 'function' ? caller.unmatchedReplies() : undefined;
      const serverErrors = server.errors();
      const problems = [];
      if (failed) problems.push(`${failed} call(s) failed (${firstError})`);
      if (wrong) problems.push(`${wrong} reply(ies) with another call's body`);
      if (unmatched) problems.push(`${unmatched} unmatched reply(ies)`);
      if (serverErrors) problems.push(`${serverErrors} reply(ies) failed to send`);
      return {
        error: problems.length ? problems.join('; ') : undefined,
        ms, count: spec.count, inFlight: spec.inFlight, answered, wrong, failed, unmatched, serverErrors,
        callsPerSec: (spec.count * 1000) / ms,
        p50: pct(50), p99: pct(99), max: xs.length ? xs[xs.length - 1] : NaN,
      };
    } finally {
      server?.cancel();
      await closeQuietly(caller);
      await closeQuietly(serverConn);
    }
  }

  return { fanout, rpc };
}
