// The widget entry's checks (burrow-rabbitmq/widget): the panels it offers.
// Run by contract.js.
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
