// The widget entry's checks (burrow-rabbitmq/widget): the panels it offers and
// what a second mount into the same element does. Run by contract.js.
import * as widget from "burrow-rabbitmq/widget";
import { URL_, options, until, assert } from "./helpers.js";

function freshElement() {
  const element = document.createElement("div");
  document.body.append(element);
  return element;
}

/** Regression: panels: ["queues"] was a TypeError though the workbench has that
 * panel (the README's headline feature could not be chosen with others). */
export async function widgetQueuesPanel() {
  await widget.default();
  const element = freshElement();
  const mounted = widget.mount(element, { url: URL_, connect: false, panels: ["queues", "guide"] });
  try {
    await until("the Queues panel", () => element.querySelector("section[aria-label='Queues']") !== null);
    assert(element.querySelector("section[aria-label='Connection']") === null, "only the panels asked for");
  } finally {
    mounted.unmount();
    element.remove();
  }
}

/** Regression: mount() twice into one element (a framework's re-render) left the
 * first widget's connection open and invisible until its handle's unmount(). The
 * second mount now unmounts the first, as mounting a framework root again replaces it. */
export async function widgetMountTwice() {
  await widget.default();
  // Every WebSocket the page opens, to see the first widget's close.
  const Original = window.WebSocket;
  const sockets = [];
  window.WebSocket = class extends Original {
    constructor(...args) {
      super(...args);
      sockets.push(this);
    }
  };
  const element = freshElement();
  let second = null;
  try {
    const first = widget.mount(element, { url: URL_, ...options, panels: ["connection"] });
    await until("the first widget connected", () => /Connected to/.test(element.textContent));
    const open = sockets.filter((s) => s.readyState === Original.OPEN);
    assert(open.length === 1, `one open WebSocket for the first widget, got ${open.length}`);
    second = widget.mount(element, { url: URL_, connect: false, panels: ["connection"] });
    await until("the first widget's WebSocket closed by the second mount", () => open[0].readyState === Original.CLOSED);
    assert(element.querySelectorAll("section[aria-label='Connection']").length === 1, "one widget in the element");
    first.unmount(); // already unmounted: harmless, and leaves the second alone
    assert(element.querySelector("section[aria-label='Connection']") !== null, "the second widget stays");
  } finally {
    window.WebSocket = Original;
    second?.unmount();
    element.remove();
  }
}
