//! The management API's JSON, read and written with the browser's own `JSON`:
//! a JSON library compiled into the wasm cost 16 KB gzipped of a library whose
//! every other byte is a client (measured with `./burrow package`).

use js_sys::{Array, Object, Reflect, JSON};
use wasm_bindgen::{JsCast, JsValue};

use super::{describe, QueueStateError};

/// A parsed JSON value (a JavaScript value from `JSON.parse`).
#[derive(Debug, Clone)]
pub(crate) struct Json(JsValue);

impl Json {
    /// Parses `text`; the browser's words when it is not JSON.
    pub(crate) fn parse(text: &str) -> Result<Json, QueueStateError> {
        JSON::parse(text).map(Json).map_err(|e| QueueStateError::NotJson(describe(&e)))
    }

    /// The member `key` of an object (not of an array or a primitive).
    pub(crate) fn get(&self, key: &str) -> Option<Json> {
        if !self.0.is_object() || Array::is_array(&self.0) {
            return None;
        }
        let value = Reflect::get(&self.0, &JsValue::from_str(key)).ok()?;
        (!value.is_undefined()).then_some(Json(value))
    }

    /// The member at a path of keys (`["message_stats", "publish_details", "rate"]`).
    pub(crate) fn at(&self, path: &[&str]) -> Option<Json> {
        path.iter().try_fold(self.clone(), |value, key| value.get(key))
    }

    /// A string's text.
    pub(crate) fn as_str(&self) -> Option<String> {
        self.0.as_string()
    }

    /// Whether it has no members: an empty object, or no object at all.
    pub(crate) fn is_empty_object(&self) -> bool {
        self.0.dyn_ref::<Object>().is_none_or(|object| Object::keys(object).length() == 0)
    }

    /// A boolean.
    pub(crate) fn as_bool(&self) -> Option<bool> {
        self.0.as_bool()
    }

    /// A number.
    pub(crate) fn as_f64(&self) -> Option<f64> {
        self.0.as_f64()
    }

    /// A whole number from 0 up (as serde_json's `as_u64`: nothing for a fraction).
    pub(crate) fn as_u64(&self) -> Option<u64> {
        let number = self.as_f64()?;
        // Whole numbers are exact up to 2^53, a JavaScript number's range.
        (number >= 0.0 && number.fract() == 0.0 && number <= 9_007_199_254_740_992.0).then_some(number as u64)
    }

    /// An array's items.
    pub(crate) fn as_array(&self) -> Option<Vec<Json>> {
        self.0.dyn_ref::<Array>().map(|items| items.iter().map(Json).collect())
    }

    /// An object's members, sorted by name (the order serde_json gave).
    pub(crate) fn entries(&self) -> Option<Vec<(String, Json)>> {
        if !self.0.is_object() || Array::is_array(&self.0) {
            return None;
        }
        let object: &Object = self.0.unchecked_ref();
        let mut entries: Vec<(String, Json)> = Object::entries(object)
            .iter()
            .filter_map(|pair| {
                let pair: Array = pair.dyn_into().ok()?;
                Some((pair.get(0).as_string()?, Json(pair.get(1))))
            })
            .collect();
        crate::sans_io::sort::heap_sort_by(&mut entries, |a, b| a.0 < b.0);
        Some(entries)
    }

    /// A string as itself, anything else as JSON text.
    pub(crate) fn to_text(&self) -> String {
        self.as_str().unwrap_or_else(|| JSON::stringify(&self.0).ok().and_then(|s| s.as_string()).unwrap_or_default())
    }
}

/// A JSON object's text from its members.
pub(crate) fn object_text(members: &[(&str, JsValue)]) -> String {
    let object = Object::new();
    for (key, value) in members {
        // Setting a property on a fresh plain object cannot fail.
        let _ = Reflect::set(&object, &JsValue::from_str(key), value);
    }
    JSON::stringify(&object).ok().and_then(|s| s.as_string()).unwrap_or_default()
}
