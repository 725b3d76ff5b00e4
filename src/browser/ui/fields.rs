//! Form fields that keep what the user typed and say, right under the field,
//! what is wrong with it.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use web_sys::{HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};
use yew::prelude::*;

thread_local! {
    static NEXT_ID: Cell<u32> = const { Cell::new(0) };
}

/// A page-unique element id starting with `prefix` (several widgets can share a page).
pub fn unique_id(prefix: &str) -> String {
    let n = NEXT_ID.with(|next| {
        next.set(next.get() + 1);
        next.get()
    });
    format!("burrow-{prefix}-{n}")
}

/// A stable page-unique id for this component.
#[hook]
pub fn use_unique_id(prefix: &'static str) -> String {
    (*use_memo((), move |_| unique_id(prefix))).clone()
}

/// What a form holds, as typed: changed at once by each keystroke (a submit in
/// the same moment reads it, not the value of the last render), then drawn.
pub struct Draft<T> {
    value: Rc<RefCell<T>>,
    redraw: UseForceUpdateHandle,
}

impl<T> Clone for Draft<T> {
    fn clone(&self) -> Self {
        Draft { value: self.value.clone(), redraw: self.redraw.clone() }
    }
}

impl<T: Clone> Draft<T> {
    /// What it holds now.
    pub fn get(&self) -> T {
        self.value.borrow().clone()
    }

    /// Changes it, and draws the form again.
    pub fn change(&self, change: impl FnOnce(&mut T)) {
        change(&mut self.value.borrow_mut());
        self.redraw.force_update();
    }

    /// A callback that changes it with each value it hears.
    pub fn setter(&self, set: impl Fn(&mut T, String) + 'static) -> Callback<String>
    where
        T: 'static,
    {
        let draft = self.clone();
        Callback::from(move |value: String| draft.change(|d| set(d, value)))
    }
}

/// A form's draft, starting as `init` makes it.
#[hook]
pub fn use_draft<T: 'static>(init: impl FnOnce() -> T) -> Draft<T> {
    Draft { value: use_mut_ref(init), redraw: use_force_update() }
}

/// `text` as a whole number from `min` to `max`, or why not in words
/// ("prefetch must be a whole number from 0 to 65535").
pub fn whole_number(text: &str, min: u64, max: u64, what: &str) -> Result<u64, String> {
    text.trim()
        .parse::<u64>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| format!("{what} must be a whole number from {min} to {max}"))
}

/// Like [`whole_number`], but empty means "not set".
pub fn optional_whole_number(text: &str, min: u64, max: u64, what: &str) -> Result<Option<u64>, String> {
    if text.trim().is_empty() {
        Ok(None)
    } else {
        whole_number(text, min, max, what).map(Some)
    }
}

/// An `input` callback that hands the new value to `set`.
pub fn on_input(set: impl Fn(String) + 'static) -> Callback<InputEvent> {
    Callback::from(move |event: InputEvent| {
        let value = event
            .target_dyn_into::<HtmlInputElement>()
            .map(|i| i.value())
            .or_else(|| event.target_dyn_into::<HtmlTextAreaElement>().map(|t| t.value()));
        if let Some(value) = value {
            set(value);
        }
    })
}

/// A `change` callback: a select's value, a checkbox's "true"/"false", a text
/// field's or a textarea's value (a change without an `input` event, such as
/// a script clearing it, must reach the draft too, or the next redraw puts the
/// old text back).
pub fn on_change(set: impl Fn(String) + 'static) -> Callback<Event> {
    Callback::from(move |event: Event| {
        if let Some(select) = event.target_dyn_into::<HtmlSelectElement>() {
            set(select.value());
        } else if let Some(input) = event.target_dyn_into::<HtmlInputElement>() {
            set(if input.type_() == "checkbox" { input.checked().to_string() } else { input.value() });
        } else if let Some(area) = event.target_dyn_into::<HtmlTextAreaElement>() {
            set(area.value());
        }
    })
}

/// Props of [`TextField`].
#[derive(Properties, PartialEq)]
pub struct TextFieldProps {
    /// What it is, as shown.
    pub label: AttrValue,
    /// The form name (tests find it by this).
    pub name: AttrValue,
    /// What it holds.
    pub value: AttrValue,
    /// Hears each keystroke's value.
    pub oninput: Callback<String>,
    /// What is wrong with it, if anything: shown under it, announced.
    #[prop_or_default]
    pub error: Option<String>,
    /// A hint inside the empty field.
    #[prop_or_default]
    pub placeholder: Option<AttrValue>,
    /// `numeric` for whole numbers (a phone shows digits).
    #[prop_or_default]
    pub inputmode: Option<AttrValue>,
    /// A note under the field.
    #[prop_or_default]
    pub note: Option<AttrValue>,
    /// Spans the whole row of the form.
    #[prop_or_default]
    pub wide: bool,
    /// Must not be empty.
    #[prop_or_default]
    pub required: bool,
}

/// A labelled text input with its error (and note) under it, tied to it for
/// screen readers.
#[function_component(TextField)]
pub fn text_field(props: &TextFieldProps) -> Html {
    let id = use_unique_id("field");
    let error_id = format!("{id}-error");
    let note_id = format!("{id}-note");
    let described = [props.error.as_ref().map(|_| error_id.clone()), props.note.as_ref().map(|_| note_id.clone())]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let (set, changed) = (props.oninput.clone(), props.oninput.clone());
    html! {
        <div class={classes!("field", props.wide.then_some("wide"))}>
            <label for={id.clone()}>{ props.label.clone() }</label>
            <input id={id} name={props.name.clone()} value={props.value.clone()} oninput={on_input(move |v| set.emit(v))} onchange={on_change(move |v| changed.emit(v))}
                placeholder={props.placeholder.clone()} inputmode={props.inputmode.clone()} required={props.required}
                aria-invalid={props.error.is_some().then_some("true")}
                aria-describedby={(!described.is_empty()).then_some(described)} spellcheck="false" />
            if let Some(note) = &props.note {
                <span class="note" id={note_id}>{ note.clone() }</span>
            }
            if let Some(error) = &props.error {
                <span class="field-error" id={error_id} role="alert">{ error.clone() }</span>
            }
        </div>
    }
}
