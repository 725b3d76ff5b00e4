// burrow-rabbitmq/widget: the embeddable RabbitMQ workbench (yew), in a wasm of
// its own (widget/burrow_widget_bg.wasm) so the main entry carries no yew.

import rawInit, { mount as rawMount } from "./widget/burrow_widget.js";
import { NotInitializedError } from "./errors.js";
import * as check from "./checks.js";

let initialized = null;
let ready = false;

/** Loads the widget's wasm; await it once before `mount`. */
export default function init(wasm) {
  if (wasm !== undefined && !check.isWasmSource(wasm)) {
    return Promise.reject(check.wrong("init", "wasm", "a URL, a string, a Request, a Response, a BufferSource, a WebAssembly.Module or a Promise of one", wasm));
  }
  if (initialized === null) {
    initialized = rawInit(wasm === undefined ? undefined : { module_or_path: wasm }).then(
      () => {
        ready = true;
      },
      (error) => {
        initialized = null;
        throw error;
      },
    );
  }
  return initialized;
}

const OPTIONS = ["url", "managementUrl", "login", "passcode", "vhost", "queue", "panels", "connect", "title"];
const PANELS = ["connection", "queues", "queue", "producer", "consumers", "guide"];

// The widget mounted in each element. A second mount into the same element (a
// framework's re-render) unmounts the first, as mounting a root again replaces it:
// otherwise the first one's connections stayed open with nothing left to show them.
const mounted = new WeakMap();

/** Mounts a workbench into `element`; see widget.d.ts. */
export function mount(element, options) {
  const where = "mount";
  if (typeof Element === "undefined" || !(element instanceof Element)) {
    throw check.wrong(where, "element", "a DOM Element", element);
  }
  const given = check.options(where, "options", options, OPTIONS) ?? {};
  const settings = {};
  for (const name of ["url", "managementUrl", "login", "passcode", "vhost", "queue", "title"]) {
    const value = check.optionalString(where, `options.${name}`, given[name]);
    if (value !== undefined) settings[name] = value;
  }
  if (settings.url !== undefined && !/^wss?:\/\//.test(settings.url)) {
    throw check.wrong(where, "options.url", "a ws:// or wss:// URL", settings.url);
  }
  // A path ("/rabbitmq/api") is a reverse proxy on the page's own origin.
  if (settings.managementUrl !== undefined && settings.managementUrl !== "" && !/^(https?:\/\/|\/)/.test(settings.managementUrl)) {
    throw check.wrong(where, "options.managementUrl", "an http:// or https:// URL, or a path such as /api", settings.managementUrl);
  }
  const connect = check.optionalBoolean(where, "options.connect", given.connect);
  // Without a passcode there is nothing to connect with: the user types it in
  // the connection panel (QA: connect: true alone left "Not connected", no word).
  if (connect === true && settings.passcode === undefined) {
    throw check.wrong(where, "options.connect", "false or left out without options.passcode (the user types it in the connection panel)", connect);
  }
  if (connect !== undefined) settings.connect = connect;
  if (given.panels !== undefined) {
    if (!Array.isArray(given.panels)) throw check.wrong(where, "options.panels", `an array of ${PANELS.join(", ")}`, given.panels);
    given.panels.forEach((panel, n) => {
      if (!PANELS.includes(panel)) throw check.wrong(where, `options.panels[${n}]`, `one of ${PANELS.join(", ")}`, panel);
    });
    settings.panels = given.panels.slice();
  }
  if (!ready) throw new NotInitializedError(`${where}: the widget's wasm is not loaded yet: await init() first`);
  mounted.get(element)?.unmount();
  const widget = new Widget(rawMount(element, settings), element);
  mounted.set(element, widget);
  return widget;
}

/** A mounted widget. */
class Widget {
  #raw;
  #element;

  constructor(raw, element) {
    this.#raw = raw;
    this.#element = element;
  }

  /** Removes the widget and closes its connections; a second call does nothing. */
  unmount() {
    if (this.#raw === null) return;
    this.#raw.unmount();
    this.#raw.free();
    this.#raw = null;
    if (mounted.get(this.#element) === this) mounted.delete(this.#element);
  }
}
