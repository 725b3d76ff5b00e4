// The runner's fan-out and RPC cases (issue 16), as run.mjs's cases() makes them:
// each measures once per client through runInPage and checks the counts exactly
// (every subscription every message; every call its own reply; no request left).

/**
 * The fan-out and RPC cases `cfg.only` asks for, against RabbitMQ. `tools` are
 * run.mjs's helpers: { cfg, rabbit(), newExchange(kind, type), deleteExchange(name),
 * newQueue(kind), deleteQueue(name), runInPage(spec), waitDepth(queue, n), fmtSize(bytes) }.
 */
export function exchangeCases({ cfg, rabbit, newExchange, deleteExchange, newQueue, deleteQueue, runInPage, waitDepth, fmtSize }) {
  const out = [];
  if (cfg.only.includes('fanout')) {
    // Every binding key matches the publish key, each a different topic pattern.
    const patterns = ['fan.out', 'fan.*', '*.out', '#', 'fan.#', '#.out', '*.*', 'fan.out.#', '#.fan.out', '*.#'];
    const bindingKeys = Array.from({ length: cfg.fanoutSubs }, (_, i) => patterns[i % patterns.length]);
    out.push({
      target: 'rabbit', workload: 'fanout', variant: `${cfg.fanoutSubs} subs`, needs: 'fanout',
      label: `fan-out: ${cfg.fanoutN} × ${fmtSize(cfg.fanoutSize)} to a topic exchange, ${cfg.fanoutSubs} subscription${cfg.fanoutSubs === 1 ? '' : 's'}, ${cfg.fanoutAck === 'auto' ? "auto-ack (RabbitMQ's own)" : `${cfg.fanoutAck}, prefetch ${cfg.prefetch}`}`,
      figures: [['deliveriesPerSec', 'deliveries/s', 'higher'], ['publishPerSec', 'msg/s published', 'higher']],
      async run(client) {
        const x = await newExchange('fanout', 'topic');
        try {
          const result = await runInPage({
            workload: 'fanout', client, ...rabbit(), exchange: x, publishKey: 'fan.out', bindingKeys,
            count: cfg.fanoutN, size: cfg.fanoutSize, window: cfg.window, ack: cfg.fanoutAck, prefetch: cfg.prefetch,
            timeoutMs: cfg.runTimeoutMs,
          });
          const checks = [];
          if (result.perSubscription) {
            const off = result.perSubscription.filter((k) => k !== cfg.fanoutN);
            checks.push({
              what: `messages per subscription (${bindingKeys.length} subscriptions)`, expected: cfg.fanoutN,
              observed: off.length ? result.perSubscription.join(',') : cfg.fanoutN, ok: off.length === 0,
            });
            checks.push({ what: 'bodies of the published size', expected: 0, observed: result.badBodies, ok: result.badBodies === 0 });
          }
          return { result, checks };
        } finally { await deleteExchange(x); }
      },
    });
  }
  if (cfg.only.includes('rpc')) {
    for (const inFlight of cfg.rpcInFlight) {
      out.push({
        target: 'rabbit', workload: 'rpc', variant: `${inFlight} in flight`, needs: 'rpc',
        label: `RPC: ${cfg.rpcN} calls of ${fmtSize(cfg.rpcSize)}, ${inFlight} in flight, reply served in the page`,
        figures: [['callsPerSec', 'calls/s', 'higher'], ['p50', 'ms p50', 'lower'], ['p99', 'ms p99', 'lower']],
        async run(client) {
          const q = await newQueue('rpc');
          try {
            const result = await runInPage({
              workload: 'rpc', client, ...rabbit(), queue: q, count: cfg.rpcN, inFlight, size: cfg.rpcSize,
              prefetch: cfg.prefetch, callTimeoutMs: 10000, timeoutMs: cfg.runTimeoutMs,
            });
            const checks = [];
            if (result.answered !== undefined) {
              checks.push({ what: 'calls answered with their own body', expected: cfg.rpcN, observed: result.answered - result.wrong, ok: result.answered - result.wrong === cfg.rpcN });
            }
            if (!result.error) {
              const d = await waitDepth(q, 0);
              checks.push({ what: 'request queue depth afterwards', expected: 0, observed: d.observed, ok: d.ok });
            }
            return { result, checks };
          } finally { await deleteQueue(q); }
        },
      });
    }
  }
  return out;
}
