// Types of burrow-rabbitmq/widget (widget.js): the embeddable workbench.

import type { WasmSource } from "./index.js";

/**
 * Loads the widget's wasm (its own, with yew); await it once before `mount`.
 * Without `wasm` it is fetched from `widget/burrow_widget_bg.wasm` beside this module.
 */
export default function init(wasm?: WasmSource): Promise<void>;

/**
 * A workbench panel: the connection form, the list of every queue (figures, peek,
 * purge, delete), one queue's form and figures, the producer, the consumers, the
 * guided tutorial.
 */
export type Panel = "connection" | "queues" | "queue" | "producer" | "consumers" | "guide";

/** How to mount a widget. Every field is optional; an unknown one is a TypeError. */
export interface WidgetOptions {
  /** Web-STOMP URL (default: /ws on the page's origin). */
  url?: string;
  /**
   * RabbitMQ's management API (the queue list, figures, peek, the lessons'
   * exchanges), such as "http://127.0.0.1:15673"; "/api" is added to an address
   * without a path. Default: port 15672 of the Web-STOMP URL's host when that URL
   * is on port 15674, else /api on its origin. The user can change it in the form.
   */
  managementUrl?: string;
  /** RabbitMQ user. */
  login?: string;
  /** Its password; without it the user is asked in the connection panel. */
  passcode?: string;
  /** Virtual host, default "/". */
  vhost?: string;
  /** The queue the panels start on. */
  queue?: string;
  /** Which panels to show (default: all but the guide). "producer" comes with the RPC call
   * panel; "guide" brings "consumers", where its lessons' consumers run. */
  panels?: readonly Panel[];
  /** Connect at once (default: when a passcode is given; true without a passcode is a TypeError). */
  connect?: boolean;
  /** A title above the panels. */
  title?: string;
}

/** A mounted widget. */
export interface Widget {
  /** Removes the widget and closes its connections; a second call does nothing. */
  unmount(): void;
}

/**
 * Mounts a Burrow workbench into `element`. It renders only inside the element: it
 * does not touch the page's URL, title or styles (its rules are scoped under `.burrow`,
 * in the app's style.css). Each call makes an independent widget; mounting into an
 * element that holds one unmounts that one first (its connections close).
 */
export function mount(element: Element, options?: WidgetOptions): Widget;
