// connection.messages(queue, options): a consumer as an async iterator. The
// consumer underneath always acks manually with a prefetch of 1 or more, so the
// broker sends at most `prefetch` messages the loop has not finished with: the
// buffer here never holds more, and a slow loop slows the broker instead of
// filling memory. With ack "auto" each message is acked as the loop takes it.
//
// Leaving the loop cancels the consumer. RabbitMQ's Web-STOMP ignores an ack or
// nack after its subscription is cancelled (measured: a NACK after UNSUBSCRIBE
// leaves the message unacknowledged), so what the loop had not taken stays
// unacknowledged on this connection until it closes; then RabbitMQ delivers it
// again, marked redelivered. Nacking it before the cancel would not help: the
// broker hands a requeued message straight back to the same consumer.

import { StaleError, StoppedError } from "./errors.js";

export const PUSH = Symbol("burrow.push");
export const END = Symbol("burrow.end");
export const ATTACH = Symbol("burrow.attach");

/** See index.d.ts. */
export class MessageIterator {
  #auto;
  #subscription = null;
  #buffer = [];
  #waiting = [];
  #ended = false;
  #error = undefined;
  #returned = false;

  constructor(auto) {
    this.#auto = auto === true;
  }

  [ATTACH](subscription) {
    this.#subscription = subscription;
  }

  /** Messages received and not yet taken by the loop (at most the prefetch). */
  get buffered() {
    return this.#buffer.length;
  }

  /** The consumer's number, as in `consumer-ready` / `consumer-failed` status events. */
  get consumer() {
    return this.#subscription === null ? -1 : this.#subscription.consumer;
  }

  /** Messages its stream filter kept back on the client (see Subscription.filteredOut). */
  get filteredOut() {
    return this.#subscription === null ? 0 : this.#subscription.filteredOut;
  }

  [Symbol.asyncIterator]() {
    return this;
  }

  /** The next message; `done` once cancelled or closed; rejects if RabbitMQ refused the consumer, or with
   * StoppedError (its `reason` says why) when the connection stopped by itself. */
  next() {
    while (this.#buffer.length > 0) {
      const message = this.#buffer.shift();
      if (this.#hand(message)) return Promise.resolve({ value: message, done: false });
    }
    if (this.#ended || this.#returned) {
      const error = this.#error;
      this.#error = undefined;
      return error === undefined ? Promise.resolve({ value: undefined, done: true }) : Promise.reject(error);
    }
    return new Promise((resolve, reject) => this.#waiting.push({ resolve, reject }));
  }

  /** Stops (what `break` out of `for await` calls): cancels the consumer. */
  return() {
    this.cancel();
    return Promise.resolve({ value: undefined, done: true });
  }

  /** As `return()`: cancels the consumer (see above for the messages not taken). */
  cancel() {
    if (this.#returned) return;
    this.#returned = true;
    this.#buffer.length = 0;
    this.#subscription?.cancel();
    for (const waiter of this.#waiting.splice(0)) waiter.resolve({ value: undefined, done: true });
  }

  [PUSH](message) {
    // On its way before the cancel: it stays unacknowledged until the connection closes.
    if (this.#returned) return;
    const waiter = this.#waiting.shift();
    if (waiter === undefined) {
      this.#buffer.push(message);
    } else if (this.#hand(message)) {
      waiter.resolve({ value: message, done: false });
    } else {
      this.#waiting.unshift(waiter);
    }
  }

  [END](error) {
    this.#ended = true;
    // Ended without an error, or by its connection's stop (StoppedError): closed,
    // cancelled, or stopped by itself. What waits here could no longer be acked
    // (RabbitMQ gives it again), so it goes.
    if (error === undefined || error instanceof StoppedError) this.#buffer.length = 0;
    const waiters = this.#waiting.splice(0);
    if (error !== undefined && waiters.length > 0) {
      waiters.forEach((waiter) => waiter.reject(error));
    } else {
      this.#error = error;
      waiters.forEach((waiter) => waiter.resolve({ value: undefined, done: true }));
    }
  }

  /** Whether `message` goes to the loop: with ack "auto" it is acked first; one
   * whose connection is gone is skipped (RabbitMQ redelivers it). */
  #hand(message) {
    if (!this.#auto) return true;
    try {
      message.ack();
      return true;
    } catch (error) {
      if (error instanceof StaleError) return false;
      throw error;
    }
  }
}
