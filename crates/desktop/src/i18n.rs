//! The person's words in their language. Rust and the page read the same
//! resource files (`ui/src/locales`), so a sentence is written once: what
//! Rust shows itself (the tray, notifications) it says here; what it sends
//! the page travels as a [`Sentence`], a key and its values, and the page
//! says it in its language.

use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// The languages there are words for, by code, with their own names.
pub const LANGUAGES: [(&str, &str); 2] = [("en", "English"), ("de", "Deutsch")];

/// A sentence for the person, in no language yet: a key of the resource
/// files and the values its `{name}`s take (`n` also picks the plural).
/// A value may be a sentence itself (a reason inside a verdict), said in
/// the same language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct Sentence {
    /// Checked by the page's compiler against the English file.
    #[ts(type = "keyof typeof import(\"../locales/en.json\")")]
    pub key: &'static str,
    #[ts(type = "Record<string, string | Sentence>")]
    pub params: BTreeMap<&'static str, Value>,
}

/// What fills a `{name}`: words from outside (a room's name, a server's
/// reason), kept as they are, or a sentence of ours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Value {
    Text(String),
    Sentence(Sentence),
}

/// In English: for logs, reports and errors' `Display`.
impl std::fmt::Display for Sentence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.say("en"))
    }
}

impl Sentence {
    pub fn new(key: &'static str) -> Self {
        debug_assert!(
            catalog("en").contains_key(key),
            "no English words for {key}"
        );
        Sentence {
            key,
            params: BTreeMap::new(),
        }
    }

    /// Words from elsewhere not (yet) in the resource files, as they are.
    pub fn plain(text: impl ToString) -> Self {
        Sentence::new("plain").with("text", text)
    }

    /// Fills `{name}` with `value`, as it is.
    pub fn with(mut self, name: &'static str, value: impl ToString) -> Self {
        self.params.insert(name, Value::Text(value.to_string()));
        self
    }

    /// Fills `{name}` with another sentence, said in the same language.
    pub fn with_sentence(mut self, name: &'static str, sentence: Sentence) -> Self {
        self.params.insert(name, Value::Sentence(sentence));
        self
    }

    /// The sentence in `language` (English where that has no words for it).
    pub fn say(&self, language: &str) -> String {
        let message = catalog(language)
            .get(self.key)
            .or_else(|| catalog("en").get(self.key));
        let text = match message {
            Some(Message::One(text)) => text,
            Some(Message::Plural { one, other }) => {
                let n = match self.params.get("n") {
                    Some(Value::Text(n)) => n.parse::<i64>().ok(),
                    _ => None,
                };
                if n == Some(1) {
                    one
                } else {
                    other
                }
            }
            // Only a key no catalog has: its name beats nothing.
            None => self.key,
        };
        let values = self
            .params
            .iter()
            .map(|(name, value)| {
                let said = match value {
                    Value::Text(t) => t.clone(),
                    Value::Sentence(s) => s.say(language),
                };
                (*name, said)
            })
            .collect();
        fill(text, &values)
    }
}

/// A message in a resource file: one form, or one per plural category.
/// English and German have two ("one" for exactly 1); a language with
/// more needs its rule here before its file is added.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Message {
    One(String),
    Plural { one: String, other: String },
}

type Catalog = HashMap<String, Message>;

static CATALOGS: LazyLock<HashMap<&'static str, Catalog>> = LazyLock::new(|| {
    let files = [
        ("en", include_str!("../../../ui/src/locales/en.json")),
        ("de", include_str!("../../../ui/src/locales/de.json")),
    ];
    files
        .into_iter()
        .map(|(code, json)| {
            // Built in: a file that does not read is caught by the tests.
            let catalog = serde_json::from_str(json).unwrap_or_else(|e| {
                tracing::error!("the {code} words do not read: {e}");
                Catalog::new()
            });
            (code, catalog)
        })
        .collect()
});

fn catalog(language: &str) -> &'static Catalog {
    static NONE: LazyLock<Catalog> = LazyLock::new(Catalog::new);
    CATALOGS.get(language).unwrap_or(&NONE)
}

/// `{name}` replaced by its value; an unknown name is left as written.
fn fill(text: &str, params: &BTreeMap<&'static str, String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) if params.contains_key(&after[..close]) => {
                out.push_str(&params[&after[..close]]);
                rest = &after[close + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The language to speak: the person's choice, else the first of the
/// system's we have words for, else English.
pub fn resolve(chosen: Option<&str>, system: &[String]) -> &'static str {
    let known = |code: &str| {
        let base = code
            .split(['-', '_', '.'])
            .next()
            .unwrap_or("")
            .to_lowercase();
        LANGUAGES.iter().map(|(c, _)| *c).find(|c| *c == base)
    };
    chosen
        .and_then(known)
        .or_else(|| system.iter().find_map(|s| known(s)))
        .unwrap_or("en")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_every_word_in_the_same_form() {
        let en = catalog("en");
        assert!(en.len() > 50, "{} English words", en.len());
        for (code, _) in LANGUAGES {
            let other = catalog(code);
            for (key, message) in en {
                let same_form = matches!(
                    (message, other.get(key)),
                    (Message::One(_), Some(Message::One(_)))
                        | (Message::Plural { .. }, Some(Message::Plural { .. }))
                );
                assert!(same_form, "{code} lacks {key} or has it in another form");
            }
        }
    }

    #[test]
    fn a_sentence_is_said_with_its_values_and_plural() {
        let s = Sentence::new("banner.lost").with("n", 3);
        assert_eq!(s.say("en"), "Connection lost — reconnecting (attempt 3)");
        assert_eq!(
            s.say("de"),
            "Verbindung unterbrochen — wird wiederhergestellt (Versuch 3)"
        );
        let one = Sentence::new("people.crowdJoined").with("n", 1);
        assert_eq!(one.say("en"), "1 person joined");
        let two = Sentence::new("people.crowdJoined").with("n", 2);
        assert_eq!(two.say("en"), "2 people joined");
        // A language without words falls back to English.
        assert_eq!(s.say("fr"), s.say("en"));
        // A sentence inside another is said in its language too.
        let nested = Sentence::new("tray.in").with_sentence("room", Sentence::new("tray.theCall"));
        assert_eq!(nested.say("de"), "In dem Anruf");
        assert_eq!(nested.to_string(), "In the call");
    }

    #[test]
    fn values_fill_only_their_names() {
        let params = BTreeMap::from([("room", "{n}".to_string())]);
        assert_eq!(fill("In {room} {x} {", &params), "In {n} {x} {");
    }

    #[test]
    fn the_choice_outranks_the_system_and_english_is_last() {
        let system = ["fr-FR".to_string(), "de_DE.UTF-8".to_string()];
        assert_eq!(resolve(None, &system), "de");
        assert_eq!(resolve(Some("en"), &system), "en");
        assert_eq!(resolve(Some("xx"), &system), "de", "an unknown choice");
        assert_eq!(resolve(None, &[]), "en");
        assert_eq!(resolve(None, &["C".to_string()]), "en");
    }

    #[test]
    fn a_sentence_reaches_the_page_as_key_and_values() {
        let s = Sentence::new("banner.lost").with("n", 2);
        assert_eq!(
            serde_json::to_value(&s).unwrap(),
            serde_json::json!({"key": "banner.lost", "params": {"n": "2"}})
        );
        let nested = Sentence::new("tray.in").with_sentence("room", Sentence::new("tray.theCall"));
        assert_eq!(
            serde_json::to_value(&nested).unwrap(),
            serde_json::json!({"key": "tray.in", "params": {"room": {"key": "tray.theCall", "params": {}}}})
        );
    }
}
