//! Reading the contract (`shared/API.md`): its table of calls and the keys and shapes of their
//! bodies and answers.

use std::collections::{BTreeMap, BTreeSet};

use crate::openapi::{CONTRACT, METHODS};

/// One row of a table of the contract.
#[derive(Debug)]
pub(crate) struct Row {
    pub(crate) section: String,
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) query: Vec<String>,
    pub(crate) body: Option<String>,
    pub(crate) answer: String,
}

impl Row {
    pub(crate) fn call(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

pub(crate) fn read_contract() -> String {
    std::fs::read_to_string(CONTRACT).unwrap_or_else(|e| {
        panic!(
            "the HTTP contract is expected at {CONTRACT} (shared/API.md beside the repository) \
             but cannot be read: {e}"
        )
    })
}

/// Split a table row on `|` that are not escaped as `\|`.
fn cells(line: &str) -> Vec<String> {
    let mut cells = vec![String::new()];
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                chars.next();
                cells.last_mut().expect("a cell").push('|');
            }
            '|' => cells.push(String::new()),
            _ => cells.last_mut().expect("a cell").push(c),
        }
    }
    cells
        .into_iter()
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty())
        .collect()
}

/// Every `| `METHOD /path` | … |` row of the contract's tables.
pub(crate) fn contract_rows(text: &str) -> Vec<Row> {
    let mut section = String::new();
    let mut rows = Vec::new();
    for line in text.lines() {
        if let Some(heading) = line.strip_prefix("## ") {
            section = heading.trim().to_owned();
            continue;
        }
        if !line.starts_with("| `") {
            continue;
        }
        let cells = cells(line);
        let call = cells[0].trim_matches('`');
        let Some((method, target)) = call.split_once(' ') else {
            continue;
        };
        if !METHODS.contains(&method) {
            continue;
        }
        let (path, query) = match target.split_once('?') {
            Some((path, query)) => (
                path,
                query
                    .split('&')
                    .map(|pair| pair.split('=').next().unwrap_or_default().to_owned())
                    .collect(),
            ),
            None => (target, Vec::new()),
        };
        let (body, answer) = match cells.len() {
            2 => (None, cells[1].clone()),
            3 => (
                Some(cells[1].trim_matches('`').to_owned()).filter(|b| b != "—"),
                cells[2].clone(),
            ),
            n => panic!("contract row with {n} cells: {line}"),
        };
        rows.push(Row {
            section: section.clone(),
            method: method.to_owned(),
            path: path.to_owned(),
            query,
            body,
            answer,
        });
    }
    rows
}

/// The keys of a JSON-ish object in the contract (`{"a", "b"?, "c": Shape}`): name →
/// (optional, the shape named as its value).
pub(crate) fn contract_keys(text: &str) -> BTreeMap<String, (bool, Option<String>)> {
    let mut keys = BTreeMap::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '"' {
            i += 1;
            continue;
        }
        let Some(len) = chars[i + 1..].iter().position(|&c| c == '"') else {
            break;
        };
        let name: String = chars[i + 1..i + 1 + len].iter().collect();
        let before = chars[..i].iter().rev().find(|c| !c.is_whitespace());
        let after = i + 2 + len;
        if matches!(before, Some('{') | Some(',')) {
            let optional = chars.get(after) == Some(&'?');
            let rest: String = chars[after..].iter().collect();
            let shape = rest.strip_prefix(':').map(str::trim_start).and_then(|r| {
                let word: String = r.chars().take_while(|c| c.is_alphanumeric()).collect();
                word.starts_with(char::is_uppercase).then_some(word)
            });
            keys.insert(name, (optional, shape));
        }
        i = after;
    }
    keys
}

/// The contract's "Shapes" list: name → its keys.
pub(crate) fn contract_shapes(text: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut bullets: Vec<String> = Vec::new();
    let mut in_shapes = false;
    for line in text.lines() {
        if line.starts_with("Shapes") {
            in_shapes = true;
            continue;
        }
        if !in_shapes {
            continue;
        }
        if let Some(bullet) = line.strip_prefix("- ") {
            bullets.push(bullet.to_owned());
        } else if line.starts_with("  ") && !bullets.is_empty() {
            let last = bullets.last_mut().expect("a bullet");
            last.push(' ');
            last.push_str(line.trim());
        } else if line.starts_with('#') || (line.trim().is_empty() && !bullets.is_empty()) {
            break;
        }
    }
    let mut shapes = BTreeMap::new();
    for bullet in bullets {
        let Some(rest) = bullet.strip_prefix('`') else {
            continue;
        };
        let Some((name, rest)) = rest.split_once('`') else {
            continue;
        };
        let Some(start) = rest.find('{') else {
            continue;
        };
        let Some(end) = rest[start..].find('}') else {
            continue;
        };
        let keys = contract_keys(&rest[start..=start + end])
            .into_keys()
            .collect();
        shapes.insert(name.to_owned(), keys);
    }
    shapes
}

/// The parts of a contract answer: `(status, Some(code))` for error codes, and the success
/// status with the body text that follows it.
pub(crate) fn answer_parts(answer: &str) -> (u16, Option<String>, Vec<(u16, String)>) {
    let success: u16 = answer
        .trim_start()
        .get(..3)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("the answer does not start with a status: {answer}"));
    let parts: Vec<&str> = answer.split('`').collect();
    let mut errors = Vec::new();
    let mut success_body = None;
    for (i, inside) in parts.iter().enumerate().skip(1).step_by(2) {
        let before = parts[i - 1].trim_end();
        let status = before
            .get(before.len().saturating_sub(3)..)
            .and_then(|s| s.parse::<u16>().ok());
        let is_code =
            !inside.is_empty() && inside.chars().all(|c| c.is_ascii_lowercase() || c == '_');
        match status {
            Some(status) if is_code => errors.push((status, (*inside).to_owned())),
            Some(status) if status == success && i == 1 => {
                success_body = Some((*inside).to_owned())
            }
            _ => {}
        }
    }
    (success, success_body, errors)
}
