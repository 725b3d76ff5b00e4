// The error classes of burrow-rabbitmq (errors.js), re-exported by index.d.ts.

/** Base class of every error Burrow reports; `name` is the class's name without "Error".
 * (A wrong argument is a plain TypeError instead.) */
export declare class BurrowError extends Error {
  constructor(message?: string, options?: { cause?: unknown });
}
/** `init()` was not awaited before the first call. */
export declare class NotInitializedError extends BurrowError {}
/** The connection was closed (or RabbitMQ refused CONNECT for good) first. */
export declare class StoppedError extends BurrowError {
  /** Why the connection stopped, as its `stopped` event says it ("disconnected" after
   * `close()`), when the error came from the stop itself (a publish, call or declare that
   * was waiting); a stop for any other reason is in `message` too. Absent when the
   * connection had already stopped before the call. */
  readonly reason?: string;
}
/** RabbitMQ refused a queue declaration, in its words (e.g. PRECONDITION_FAILED). */
export declare class DeclareRefusedError extends BurrowError {}
/** A declaration RabbitMQ would refuse, refused before sending. */
export declare class DeclareInvalidError extends BurrowError {}
/** A publish refused before sending: a name over 255 bytes, no routing key on the default exchange, `amq.default` by name, a reserved header, too large
 * (the SEND frame over 16 MiB, RabbitMQ 4.x's default largest message), or headers a consumer could not read back (a header over 1 MiB escaped, or over 65,520 headers). */
export declare class PublishInvalidError extends BurrowError {}
/** RabbitMQ refused this message (a missing exchange, a `userId` other than the
 * login); the others go on. Such a refusal ends the connection, and RabbitMQ 3.10.8's
 * Web-STOMP loses the ERROR that names the message. For a missing exchange Burrow
 * asks the management API and rejects the message after that one reconnect;
 * otherwise (a wrong `userId`, or no management API) it finds the message by
 * elimination: measured, three reconnects before it was rejected alone (more can
 * go with it while other messages are in flight). Each
 * reconnect is a `subscription-gap` for every transient exchange subscription
 * (what was routed to it meanwhile is lost) and redelivers every unacked message.
 * Hence: `exchangeDeclare` the exchange first (it does nothing when it exists as
 * declared; there is no call that only checks), and leave `userId` out or make it
 * the login. */
export declare class PublishRefusedError extends BurrowError {}
/** A consumer RabbitMQ would refuse, refused before sending. */
export declare class ConsumeInvalidError extends BurrowError {}
/** RabbitMQ refused a consumer, e.g. NOT_FOUND: no such queue; or cancelled it later
 * (its queue was deleted), the connection going on. */
export declare class ConsumeRefusedError extends BurrowError {}
/** An ack or nack for a message whose connection is gone: RabbitMQ redelivers it, marked. */
export declare class StaleError extends BurrowError {}
/** A second ack or nack of the same message. */
export declare class AlreadySettledError extends BurrowError {}
/** A message from a stream cannot be nacked (RabbitMQ would close the connection). */
export declare class StreamNackError extends BurrowError {}
/** An ack or nack after its consumer's cancel: RabbitMQ would ignore it; the message
 * goes back to the queue when the connection ends (marked redelivered). */
export declare class CancelledError extends BurrowError {}
/** The ack or nack could not be sent. */
export declare class AckFailedError extends BurrowError {}
/** Bytes given to a FrameDecoder that are not STOMP. */
export declare class MalformedFrameError extends BurrowError {}
/** An exchange or binding call without permission (HTTP 401/403): a wrong login, a
 * user without a management tag, no permission on the vhost or name, or a reserved
 * `amq.` name. */
export declare class NoPermissionError extends BurrowError {}
/** An exchange or binding call needs RabbitMQ's management API, which did not answer. */
export declare class ManagementUnreachableError extends BurrowError {}
/** `exchangeDeclare` with a type RabbitMQ does not have. */
export declare class UnknownExchangeTypeError extends BurrowError {}
/** `exchangeDeclare` of an exchange that exists with other properties (PRECONDITION_FAILED). */
export declare class InequivalentError extends BurrowError {}
/** `queueBind`/`queueUnbind` naming an exchange or queue that does not exist (NOT_FOUND). */
export declare class NotFoundError extends BurrowError {}
/** Any other refusal of the management API, in its words. */
export declare class ManagementRefusedError extends BurrowError {}
/** No reply to a `call` came within its timeout. */
export declare class TimeoutError extends BurrowError {}
/** The connection dropped after RabbitMQ took a `call`'s request: its reply queue
 * went with the connection, so no reply can arrive (the request may have been served).
 * Also a `queueDeclare` whose connection closed before RabbitMQ answered and that
 * will not go again (reconnects off, its queue deleted or declared with other
 * options meanwhile; otherwise it goes again on the next connection and settles
 * there): the queue may or may not be declared, and declaring it again does
 * nothing when it exists as asked. */
export declare class ConnectionLostError extends BurrowError {}
/** A `call` whose correlationId another call in flight has. */
export declare class CallInvalidError extends BurrowError {}
/** `reply` to a message without a replyTo: nobody asked for a reply. */
export declare class NoReplyToError extends BurrowError {}
