// Arguments checked at the door: every value JavaScript hands the package is
// checked here, before anything reaches the wasm, and a wrong one is a TypeError
// that names the function, the argument and what it got. The wasm then only ever
// sees the types its signatures declare.

import { describeValue } from "./message.js";

/** A TypeError: `where: what must be wanted, got <value>`. */
export function wrong(where, what, wanted, got) {
  return new TypeError(`${where}: ${what} must be ${wanted}, got ${describeValue(got)}`);
}

/** An options argument: `undefined`, or an object whose keys are all `known`. */
export function options(where, what, value, known) {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== "object" || Object.prototype.toString.call(value) !== "[object Object]") {
    throw wrong(where, what, "an object", value);
  }
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      throw new TypeError(`${where}: unknown option ${what}.${key} (known: ${known.join(", ")})`);
    }
  }
  return value;
}

/** A record of names to values (headers, queue arguments): `undefined`, or an object with any keys. */
export function record(where, what, value) {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== "object" || Object.prototype.toString.call(value) !== "[object Object]") {
    throw wrong(where, what, "an object", value);
  }
  return value;
}

export function string(where, what, value) {
  if (typeof value !== "string") throw wrong(where, what, "a string", value);
  return value;
}

export function optionalString(where, what, value) {
  return value === undefined ? undefined : string(where, what, value);
}

export function optionalBoolean(where, what, value) {
  if (value !== undefined && typeof value !== "boolean") throw wrong(where, what, "a boolean", value);
  return value;
}

export function optionalFunction(where, what, value) {
  if (value !== undefined && typeof value !== "function") throw wrong(where, what, "a function", value);
  return value;
}

/** A whole number from `min` to `max`, or `undefined`. */
export function optionalWhole(where, what, value, min, max) {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw wrong(where, what, `a whole number from ${min} to ${max}`, value);
  }
  return value;
}

/** Milliseconds: a finite number from `min` to `max` (setTimeout's largest delay), or `undefined`. */
export function optionalMillis(where, what, value, min) {
  if (value === undefined) return undefined;
  const max = 2147483647;
  if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max) {
    throw wrong(where, what, `a number of milliseconds from ${min} to ${max}`, value);
  }
  return Math.floor(value);
}

/** Seconds since the epoch from a Date or a number of seconds (AMQP's unit). */
export function epochSeconds(where, what, value) {
  if (value instanceof Date) {
    const ms = value.getTime();
    if (!Number.isFinite(ms) || ms < 0) throw wrong(where, what, "a valid Date after 1970", value);
    return Math.floor(ms / 1000);
  }
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0) {
    throw wrong(where, what, "a Date or whole seconds since the epoch", value);
  }
  if (value > 1e11) {
    throw new TypeError(`${where}: ${what} is in seconds since the epoch (AMQP's unit), got ${value}, which looks like milliseconds: pass a Date, or Math.floor(Date.now() / 1000)`);
  }
  return value;
}

const isArrayBuffer = (value) => {
  const tag = Object.prototype.toString.call(value);
  return tag === "[object ArrayBuffer]" || tag === "[object SharedArrayBuffer]";
};

/** The bytes of an ArrayBuffer or any ArrayBufferView, as a Uint8Array over them; `null` for anything else. */
export function bytesOf(value) {
  if (value instanceof Uint8Array) return value;
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (isArrayBuffer(value)) return new Uint8Array(value);
  return null;
}

/** What `init()` takes: where the wasm is, or its bytes, or the compiled module. */
export function isWasmSource(value) {
  if (typeof value === "string" || value instanceof URL || value instanceof WebAssembly.Module) return true;
  if (typeof Request !== "undefined" && value instanceof Request) return true;
  if (typeof Response !== "undefined" && value instanceof Response) return true;
  if (ArrayBuffer.isView(value) || isArrayBuffer(value)) return true;
  return value !== null && typeof value === "object" && typeof value.then === "function";
}

/**
 * Wraps the user's credentials provider: each call's answer is checked (a
 * `passcode` string, an optional `login` string, an optional `expiresAt` Date
 * or milliseconds since 1970) and handed to the wasm as plain
 * `[login, passcode, expiresInMs]`; a provider that throws or rejects, or
 * answers something else, rejects with words saying so.
 */
export function credentialsProvider(provider, login) {
  const where = "options.credentials()";
  return async () => {
    const given = await provider();
    if (given === null || typeof given !== "object") throw wrong(where, "its answer", "an object { login?, passcode, expiresAt? }", given);
    const passcode = string(where, "passcode", given.passcode);
    const name = optionalString(where, "login", given.login) ?? login ?? "";
    let expiresInMs;
    if (given.expiresAt !== undefined) {
      const at = given.expiresAt instanceof Date ? given.expiresAt.getTime() : given.expiresAt;
      if (typeof at !== "number" || !Number.isFinite(at)) {
        throw wrong(where, "expiresAt", "a Date or milliseconds since 1970", given.expiresAt);
      }
      expiresInMs = Math.max(0, at - Date.now());
    }
    return [name, passcode, expiresInMs];
  };
}
