//! The proptest strategies of the malformed-body property: random JSON values and field names,
//! and the mutations (replace, remove, add) applied to a well-formed body.

use proptest::{prelude::*, sample::Index};
use serde_json::{Value, json};

/// What one case sends.
#[derive(Clone, Debug)]
pub(crate) enum Body {
    Bytes(Vec<u8>),
    Json(Value),
    Mutated(Vec<Mutation>),
}

/// A change to the well-formed body; indexes pick among its nested places.
#[derive(Clone, Debug)]
pub(crate) enum Mutation {
    Replace(Index, Value),
    Remove(Index),
    Add(Index, String, Value),
}

#[derive(Clone, Debug)]
pub(crate) struct Case {
    pub(crate) route: Index,
    pub(crate) content_type: Option<&'static str>,
    pub(crate) body: Body,
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        4 => Just(Value::Null),
        4 => any::<bool>().prop_map(Value::Bool),
        4 => any::<i64>().prop_map(|n| json!(n)),
        4 => any::<u64>().prop_map(|n| json!(n)),
        4 => any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f).map(Value::Number)),
        8 => any::<String>().prop_map(Value::String),
        8 => "[a-zA-Z0-9+/=_-]{0,64}".prop_map(Value::String),
        2 => Just(Value::String("\u{0}".into())),
        2 => Just(Value::String(uuid::Uuid::nil().to_string())),
        1 => Just(Value::String("x".repeat(70 * 1024))),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(field_name(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("username".to_owned()),
        Just("ceremony".to_owned()),
        Just("credential".to_owned()),
        Just("response".to_owned()),
        Just("code".to_owned()),
        Just("password".to_owned()),
        Just("label".to_owned()),
        Just("channel".to_owned()),
        Just("address".to_owned()),
        Just("method".to_owned()),
        Just("__proto__".to_owned()),
        any::<String>(),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<Index>(), json_value()).prop_map(|(i, v)| Mutation::Replace(i, v)),
        1 => any::<Index>().prop_map(Mutation::Remove),
        1 => (any::<Index>(), field_name(), json_value()).prop_map(|(i, k, v)| Mutation::Add(i, k, v)),
    ]
}

pub(crate) fn case() -> impl Strategy<Value = Case> {
    let content_type = prop_oneof![
        6 => Just(Some("application/json")),
        1 => Just(Some("application/json; charset=utf-16")),
        1 => Just(Some("application/vnd.api+json")),
        1 => Just(Some("text/plain")),
        1 => Just(Some("application/x-www-form-urlencoded")),
        1 => Just(None),
    ];
    let body = prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..300).prop_map(Body::Bytes),
        2 => json_value().prop_map(Body::Json),
        5 => prop::collection::vec(mutation(), 1..4).prop_map(Body::Mutated),
    ];
    (any::<Index>(), content_type, body).prop_map(|(route, content_type, body)| Case {
        route,
        content_type,
        body,
    })
}

/// Every place in a JSON value (objects' fields and arrays' items), as paths.
fn places(value: &Value, path: &mut Vec<PathStep>, out: &mut Vec<Vec<PathStep>>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                path.push(PathStep::Key(k.clone()));
                out.push(path.clone());
                places(v, path, out);
                path.pop();
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                path.push(PathStep::Item(i));
                out.push(path.clone());
                places(v, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

#[derive(Clone, Debug)]
enum PathStep {
    Key(String),
    Item(usize),
}

fn at<'a>(value: &'a mut Value, path: &[PathStep]) -> Option<&'a mut Value> {
    path.iter().try_fold(value, |v, step| match step {
        PathStep::Key(k) => v.get_mut(k.as_str()),
        PathStep::Item(i) => v.get_mut(*i),
    })
}

pub(crate) fn apply(mut body: Value, mutations: &[Mutation]) -> Value {
    for m in mutations {
        let mut all = vec![Vec::new()];
        places(&body, &mut Vec::new(), &mut all);
        match m {
            Mutation::Replace(i, v) => {
                if let Some(place) = at(&mut body, &all[i.index(all.len())]) {
                    *place = v.clone();
                }
            }
            Mutation::Remove(i) => {
                let path = &all[i.index(all.len())];
                if let Some((last, parent)) = path.split_last()
                    && let Some(parent) = at(&mut body, parent)
                {
                    match (last, parent) {
                        (PathStep::Key(k), Value::Object(map)) => {
                            map.remove(k);
                        }
                        (PathStep::Item(n), Value::Array(items)) if *n < items.len() => {
                            items.remove(*n);
                        }
                        _ => {}
                    }
                }
            }
            Mutation::Add(i, k, v) => {
                if let Some(Value::Object(map)) = at(&mut body, &all[i.index(all.len())]) {
                    map.insert(k.clone(), v.clone());
                }
            }
        }
    }
    body
}
