// The errors burrow-rabbitmq rejects or throws with: one class per failure,
// all under BurrowError, so `instanceof` and `error.name` both tell them apart.
// Wrong arguments are a plain TypeError instead (index.js), as in the platform.
// The wasm glue builds these through makeError (imported by src/browser/js/errors.rs).

/** Base class of every error Burrow reports (not of argument TypeErrors). */
export class BurrowError extends Error {
  constructor(message, options) {
    super(message, options);
    // The subclass's name without "Error", as Burrow has always reported it.
    Object.defineProperty(this, "name", { value: new.target.errorName, configurable: true, writable: true });
  }
  static errorName = "BurrowError";
}

/** `init()` was not awaited before the first call. */
export class NotInitializedError extends BurrowError { static errorName = "NotInitialized"; }
/** The connection was closed (or RabbitMQ refused CONNECT for good) before it could happen;
 * `reason` says why when the stop itself failed it (set by the wasm, src/browser/js/errors.rs). */
export class StoppedError extends BurrowError { static errorName = "Stopped"; }
/** RabbitMQ refused a queue declaration, in its words (e.g. PRECONDITION_FAILED). */
export class DeclareRefusedError extends BurrowError { static errorName = "DeclareRefused"; }
/** A declaration RabbitMQ would refuse, refused before sending. */
export class DeclareInvalidError extends BurrowError { static errorName = "DeclareInvalid"; }
/** A publish refused before sending: a name over 255 bytes, no routing key on the default exchange, `amq.default` by name, a reserved header, too large,
 * or headers a consumer could not read back (a header over 1 MiB escaped, or over 65,520 headers). */
export class PublishInvalidError extends BurrowError { static errorName = "PublishInvalid"; }
/** RabbitMQ refused this message (e.g. a missing exchange); the others go on. */
export class PublishRefusedError extends BurrowError { static errorName = "PublishRefused"; }
/** The outbox is full. Not exported: `publish` waits for room instead. */
export class OutboxFullError extends BurrowError { static errorName = "OutboxFull"; }
/** A consumer RabbitMQ would refuse, refused before sending. */
export class ConsumeInvalidError extends BurrowError { static errorName = "ConsumeInvalid"; }
/** RabbitMQ refused a consumer, e.g. NOT_FOUND: no such queue; or cancelled it later
 * (its queue was deleted). */
export class ConsumeRefusedError extends BurrowError { static errorName = "ConsumeRefused"; }
/** An ack or nack for a message whose connection is gone: RabbitMQ redelivers it, marked. */
export class StaleError extends BurrowError { static errorName = "Stale"; }
/** A second ack or nack of the same message. */
export class AlreadySettledError extends BurrowError { static errorName = "AlreadySettled"; }
/** A message from a stream cannot be nacked (RabbitMQ would close the connection). */
export class StreamNackError extends BurrowError { static errorName = "StreamNack"; }
/** An ack or nack after its consumer's cancel: RabbitMQ would ignore it; the message
 * goes back to the queue when the connection ends (marked redelivered). */
export class CancelledError extends BurrowError { static errorName = "Cancelled"; }
/** The ack or nack could not be sent. */
export class AckFailedError extends BurrowError { static errorName = "AckFailed"; }
/** No reply to a `call` came within its timeout. */
export class TimeoutError extends BurrowError { static errorName = "Timeout"; }
/** The connection dropped after RabbitMQ took a `call`'s request: its reply queue
 * went with the connection, so no reply can arrive (the request may have been served). */
export class ConnectionLostError extends BurrowError { static errorName = "ConnectionLost"; }
/** A `call` Burrow cannot route a reply for: another call in flight has its correlationId. */
export class CallInvalidError extends BurrowError { static errorName = "CallInvalid"; }
/** `reply` to a message without a replyTo: nobody asked for a reply. */
export class NoReplyToError extends BurrowError { static errorName = "NoReplyTo"; }
/** Bytes given to a FrameDecoder that are not STOMP. */
export class MalformedFrameError extends BurrowError { static errorName = "MalformedFrame"; }

const byName = new Map(
  [
    NotInitializedError, StoppedError, DeclareRefusedError, DeclareInvalidError, PublishInvalidError,
    PublishRefusedError, OutboxFullError, ConsumeInvalidError, ConsumeRefusedError, StaleError,
    AlreadySettledError, StreamNackError, CancelledError, AckFailedError, MalformedFrameError,
    TimeoutError, ConnectionLostError, CallInvalidError, NoReplyToError,
  ].map((kind) => [kind.errorName, kind]),
);

/** No permission for an exchange or binding call (HTTP 401/403): a wrong login, a user
 * without a management tag, no permission on the vhost or name, or a reserved amq. name. */
export class NoPermissionError extends BurrowError { static errorName = "NoPermission"; }
/** An exchange or binding call needs RabbitMQ's management API, which did not answer
 * (the plugin is off, the address is wrong, or CORS forbids this page). */
export class ManagementUnreachableError extends BurrowError { static errorName = "ManagementUnreachable"; }
/** exchangeDeclare with a type RabbitMQ does not have (use direct, fanout, topic or headers). */
export class UnknownExchangeTypeError extends BurrowError { static errorName = "UnknownExchangeType"; }
/** exchangeDeclare of an exchange that exists with other properties (PRECONDITION_FAILED,
 * inequivalent arg): declare it as it is, or delete it first. */
export class InequivalentError extends BurrowError { static errorName = "Inequivalent"; }
/** queueBind or queueUnbind naming an exchange or queue that does not exist (NOT_FOUND). */
export class NotFoundError extends BurrowError { static errorName = "NotFound"; }
/** Any other refusal of the management API, in its words. */
export class ManagementRefusedError extends BurrowError { static errorName = "ManagementRefused"; }

for (const kind of [
  NoPermissionError, ManagementUnreachableError, UnknownExchangeTypeError, InequivalentError, NotFoundError,
  ManagementRefusedError,
]) {
  byName.set(kind.errorName, kind);
}

/** For the wasm glue: the error of that name ("TypeError" for arguments). */
export function makeError(name, message) {
  if (name === "TypeError") return new TypeError(message);
  const Kind = byName.get(name) ?? BurrowError;
  return new Kind(message);
}
