//! EPP's XML: answers read with quick-xml into a small element tree (local names, attributes,
//! text with its character and entity references resolved, CDATA), commands written with every
//! value escaped, and the raw frames masked for the log.

use std::sync::LazyLock;

use quick_xml::Reader;
use quick_xml::events::Event;
use regex_lite::Regex;

use crate::providers::ProviderFailure;

/// One element of an answer: its local name (the namespace prefix dropped), attributes (local
/// names, values unescaped), text (its own, unescaped, CDATA included) and children in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Element {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<Element>,
}

fn local(name: &str) -> String {
    name.rsplit(':').next().unwrap_or_default().to_owned()
}

impl Element {
    /// The document's root element. Malformed XML (unbalanced, a bad reference) is refused.
    pub fn parse(xml: &str) -> Result<Element, String> {
        let mut reader = Reader::from_str(xml);
        let mut stack: Vec<Element> = vec![Element::default()];
        let open = |e: &quick_xml::events::BytesStart<'_>| -> Result<Element, String> {
            let mut attrs = Vec::new();
            for a in e.attributes() {
                let a = a.map_err(|e| e.to_string())?;
                let value = a.normalized_value(quick_xml::XmlVersion::Implicit1_0).map_err(|e| e.to_string())?;
                attrs.push((local(a.key.as_ref()), value.into_owned()));
            }
            Ok(Element { name: local(e.name().as_ref()), attrs, ..Element::default() })
        };
        loop {
            let event = reader.read_event().map_err(|e| format!("at byte {}: {e}", reader.buffer_position()))?;
            let top = stack.last_mut().ok_or("unbalanced document")?;
            match event {
                Event::Start(e) => stack.push(open(&e)?),
                Event::Empty(e) => {
                    let element = open(&e)?;
                    top.children.push(element);
                }
                Event::End(_) => {
                    let done = stack.pop().ok_or("unbalanced document")?;
                    stack.last_mut().ok_or("an end tag without its start")?.children.push(done);
                }
                Event::Text(t) => top.text.push_str(&t),
                Event::CData(c) => top.text.push_str(&c),
                Event::GeneralRef(r) => match r.resolve_char_ref().map_err(|e| e.to_string())? {
                    Some(c) => top.text.push(c),
                    None => top.text.push_str(quick_xml::escape::resolve_predefined_entity(&r).ok_or_else(|| format!("an unknown entity &{};", &*r))?),
                },
                Event::Eof => break,
                _ => {}
            }
        }
        let mut document = stack.pop().filter(|_| stack.is_empty()).ok_or("an element left open")?;
        document.children.pop().filter(|_| document.children.is_empty()).ok_or_else(|| "not one root element".to_owned())
    }

    /// Every element of `name` in the tree, this one included, in document order (nested ones
    /// of the same name too).
    pub fn all<'a>(&'a self, name: &str) -> Vec<&'a Element> {
        let mut found = Vec::new();
        self.collect(name, &mut found);
        found
    }

    fn collect<'a>(&'a self, name: &str, found: &mut Vec<&'a Element>) {
        if self.name == name {
            found.push(self);
        }
        for child in &self.children {
            child.collect(name, found);
        }
    }

    /// The trimmed text of the first element of `name`, if it has any.
    pub fn first(&self, name: &str) -> Option<String> {
        self.all(name).first().map(|e| e.text.trim().to_owned()).filter(|t| !t.is_empty())
    }

    /// The trimmed text of every element of `name`.
    pub fn texts(&self, name: &str) -> Vec<String> {
        self.all(name).into_iter().map(|e| e.text.trim().to_owned()).collect()
    }

    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// All the text of the tree, space-separated, with passwords (`pw`, `newPW`) masked.
    pub fn deep_text(&self) -> String {
        let mut parts = Vec::new();
        self.gather(&mut parts);
        parts.join(" ")
    }

    fn gather(&self, parts: &mut Vec<String>) {
        if matches!(self.name.as_str(), "pw" | "newPW") {
            parts.push(crate::secrets::MASK.to_owned());
            return;
        }
        let own = self.text.trim();
        if !own.is_empty() {
            parts.push(own.to_owned());
        }
        for child in &self.children {
            child.gather(parts);
        }
    }
}

/// A value as element text or an attribute value.
pub fn escape(s: &str) -> String {
    quick_xml::escape::escape(s).replace('\'', "&apos;")
}

/// The XML with every password masked: `<pw>`, `<newPW>` (any prefix), for the log.
pub fn masked(xml: &str) -> String {
    static PW: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?s)(<(?:[A-Za-z0-9]+:)?(?:pw|newPW)(?:\s[^>]*)?>)(.*?)(</)").expect("a valid pattern"));
    PW.replace_all(xml, "${1}********${3}").into_owned()
}

/// An EPP answer: its result code and message (with the reasons and values the registry gave),
/// the document, and its raw text (for the log).
pub struct Response {
    pub code: u32,
    pub message: String,
    pub doc: Element,
    pub xml: String,
}

/// Reads an answer: refused when it is no EPP result.
pub fn response(xml: String) -> Result<Response, ProviderFailure> {
    let doc = Element::parse(&xml).map_err(|e| ProviderFailure::permanent(format!("the registry answered with malformed XML ({e})")))?;
    let result = doc.all("result").into_iter().next().ok_or_else(|| ProviderFailure::permanent("the registry answered without an EPP result"))?;
    let code = result.attr("code").and_then(|c| c.parse().ok()).ok_or_else(|| ProviderFailure::permanent("the registry answered an EPP result without a code"))?;
    let mut message = result.first("msg").unwrap_or_default();
    for detail in result.all("reason").into_iter().chain(result.all("value")) {
        // A <value> may echo the element refused, a password among them: masked.
        let text = detail.deep_text();
        if !text.is_empty() {
            message.push_str(&format!(" ({text})"));
        }
    }
    Ok(Response { code, message, doc, xml })
}

/// The command document around `body`.
pub fn command(body: &str, extension: Option<&str>, transaction: &str) -> String {
    let extension = extension.map(|e| format!("<extension>{e}</extension>")).unwrap_or_default();
    format!(r#"<?xml version="1.0" encoding="UTF-8" standalone="no"?><epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command>{body}{extension}<clTRID>{transaction}</clTRID></command></epp>"#)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the regex reader of before got wrong: character references, CDATA, nested elements
    /// of the same name, prefixes; and a password echoed in a refusal stays masked.
    #[test]
    fn answers_are_read_as_xml() {
        let xml = r#"<?xml version="1.0"?><epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><response><result code="2306"><msg lang="en">Parameter value policy error</msg><extValue><value><domain:pw xmlns:domain="urn:x">S3cret&amp;1</domain:pw></value><reason>a &#233;t&#xE9; &lt;rule&gt; <![CDATA[<kept>]]></reason></extValue></result><resData><n:list xmlns:n="urn:n"><n:name>a</n:name><n:name avail="1">b&apos;c</n:name></n:list></resData></response></epp>"#;
        let r = response(xml.to_owned()).unwrap();
        assert_eq!(r.code, 2306);
        assert!(r.message.contains("a été <rule> <kept>"), "{}", r.message);
        assert!(r.message.contains("********") && !r.message.contains("S3cret"), "{}", r.message);
        assert_eq!(r.doc.texts("name"), ["a", "b'c"]);
        assert_eq!(r.doc.all("name")[1].attr("avail"), Some("1"));
        let nested = Element::parse("<a><b>1<b>2</b></b></a>").unwrap();
        assert_eq!(nested.all("b").len(), 2);
        assert!(Element::parse("<a><b></a>").is_err() && Element::parse("<a>&nope;</a>").is_err() && Element::parse("").is_err());
        assert_eq!(escape(r#"<a href="x">&'"#), "&lt;a href=&quot;x&quot;&gt;&amp;&apos;");
    }
}
