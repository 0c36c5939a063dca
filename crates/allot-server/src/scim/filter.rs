//! SCIM filters (RFC 7644, section 3.4.2.2): `userName eq "ana@example.com"`,
//! `emails[type eq "work" and value co "@example.com"]`, `not (active eq false) or
//! meta.lastModified gt "2026-01-01T00:00:00Z"`, parsed into a [`Filter`] and judged
//! against a resource as its JSON representation. `not` binds tighter than `and`, and `and`
//! than `or`; keywords, operators and attribute names are matched in any case.

use serde_json::Value;

/// A filter, as parsed.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    /// `attr pr`: the attribute has a value.
    Present(AttrPath),
    Compare(AttrPath, Op, Operand),
    /// `attr[filter]`: an element of the multi-valued attribute passes the filter.
    Within(AttrPath, Box<Filter>),
}

/// An attribute, `name` or `name.sub`, its names lower-cased; `schema` is the URN it was
/// prefixed with, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPath {
    pub schema: Option<String>,
    pub name: String,
    pub sub: Option<String>,
}

impl AttrPath {
    /// The path as `name` or `name.sub`, lower-cased, without its schema.
    pub fn dotted(&self) -> String {
        match &self.sub {
            Some(sub) => format!("{}.{sub}", self.name),
            None => self.name.clone(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

/// A comparison's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    String(String),
    Number(f64),
    Bool(bool),
    Null,
}

impl Operand {
    /// The value as JSON.
    pub fn to_json(&self) -> Value {
        match self {
            Operand::String(s) => Value::String(s.clone()),
            Operand::Number(n) => serde_json::Number::from_f64(*n).map_or(Value::Null, Value::Number),
            Operand::Bool(b) => Value::Bool(*b),
            Operand::Null => Value::Null,
        }
    }
}

/// Why a filter is refused: answered 400 `invalidFilter`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidFilter(pub String);

impl std::fmt::Display for InvalidFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    /// An attribute path or a keyword: the reader tells them apart by place.
    Word(String),
    String(String),
    Number(f64),
    Open,
    Close,
    OpenBracket,
    CloseBracket,
}

fn tokens(text: &str) -> Result<Vec<Token>, InvalidFilter> {
    let mut tokens = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(at, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' | '[' | ']' => {
                chars.next();
                tokens.push(match c {
                    '(' => Token::Open,
                    ')' => Token::Close,
                    '[' => Token::OpenBracket,
                    _ => Token::CloseBracket,
                });
            }
            '"' => {
                // A JSON string, escapes and all.
                let mut end = None;
                let mut escaped = false;
                for (i, c) in text[at + 1..].char_indices() {
                    match (escaped, c) {
                        (true, _) => escaped = false,
                        (false, '\\') => escaped = true,
                        (false, '"') => {
                            end = Some(at + 1 + i);
                            break;
                        }
                        _ => {}
                    }
                }
                let end = end.ok_or_else(|| InvalidFilter(format!("the string at {at} does not end")))?;
                let value: String = serde_json::from_str(&text[at..=end])
                    .map_err(|e| InvalidFilter(format!("the string at {at} is not valid: {e}")))?;
                tokens.push(Token::String(value));
                while chars.peek().is_some_and(|(i, _)| *i <= end) {
                    chars.next();
                }
            }
            c if c == '-' || c.is_ascii_digit() => {
                let mut end = at;
                while let Some(&(i, c)) = chars.peek() {
                    if !(c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E')) {
                        break;
                    }
                    end = i + c.len_utf8();
                    chars.next();
                }
                let number = text[at..end]
                    .parse()
                    .map_err(|_| InvalidFilter(format!("`{}` is not a number", &text[at..end])))?;
                tokens.push(Token::Number(number));
            }
            c if c.is_ascii_alphabetic() || c == '$' || c == '_' => {
                let mut end = at;
                while let Some(&(i, c)) = chars.peek() {
                    if !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':' | '$')) {
                        break;
                    }
                    end = i + c.len_utf8();
                    chars.next();
                }
                tokens.push(Token::Word(text[at..end].to_owned()));
            }
            other => return Err(InvalidFilter(format!("`{other}` at {at} is not part of a filter"))),
        }
    }
    Ok(tokens)
}

/// Parses a filter.
pub fn parse(text: &str) -> Result<Filter, InvalidFilter> {
    let mut reader = Reader { tokens: tokens(text)?, at: 0 };
    let filter = reader.or()?;
    match reader.tokens.get(reader.at) {
        None => Ok(filter),
        Some(token) => Err(InvalidFilter(format!("unexpected {} after a whole filter", shown(token)))),
    }
}

fn shown(token: &Token) -> String {
    match token {
        Token::Word(word) => format!("`{word}`"),
        Token::String(s) => format!("\"{s}\""),
        Token::Number(n) => n.to_string(),
        Token::Open => "`(`".into(),
        Token::Close => "`)`".into(),
        Token::OpenBracket => "`[`".into(),
        Token::CloseBracket => "`]`".into(),
    }
}

struct Reader {
    tokens: Vec<Token>,
    at: usize,
}

impl Reader {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        token
    }

    fn keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word))
    }

    fn expect(&mut self, wanted: Token) -> Result<(), InvalidFilter> {
        match self.next() {
            Some(token) if token == wanted => Ok(()),
            Some(token) => Err(InvalidFilter(format!("expected {}, found {}", shown(&wanted), shown(&token)))),
            None => Err(InvalidFilter(format!("expected {} at the end", shown(&wanted)))),
        }
    }

    fn or(&mut self) -> Result<Filter, InvalidFilter> {
        let mut filter = self.and()?;
        while self.keyword("or") {
            self.at += 1;
            filter = Filter::Or(Box::new(filter), Box::new(self.and()?));
        }
        Ok(filter)
    }

    fn and(&mut self) -> Result<Filter, InvalidFilter> {
        let mut filter = self.unary()?;
        while self.keyword("and") {
            self.at += 1;
            filter = Filter::And(Box::new(filter), Box::new(self.unary()?));
        }
        Ok(filter)
    }

    fn unary(&mut self) -> Result<Filter, InvalidFilter> {
        if self.keyword("not") {
            self.at += 1;
            self.expect(Token::Open)?;
            let inner = self.or()?;
            self.expect(Token::Close)?;
            return Ok(Filter::Not(Box::new(inner)));
        }
        if self.peek() == Some(&Token::Open) {
            self.at += 1;
            let inner = self.or()?;
            self.expect(Token::Close)?;
            return Ok(inner);
        }
        self.attribute()
    }

    fn attribute(&mut self) -> Result<Filter, InvalidFilter> {
        let path = match self.next() {
            Some(Token::Word(word)) => attr_path(&word)?,
            Some(token) => return Err(InvalidFilter(format!("expected an attribute, found {}", shown(&token)))),
            None => return Err(InvalidFilter("expected an attribute at the end".into())),
        };
        if self.peek() == Some(&Token::OpenBracket) {
            self.at += 1;
            let inner = self.or()?;
            self.expect(Token::CloseBracket)?;
            return Ok(Filter::Within(path, Box::new(inner)));
        }
        let op = match self.next() {
            Some(Token::Word(word)) => word.to_ascii_lowercase(),
            Some(token) => return Err(InvalidFilter(format!("expected an operator, found {}", shown(&token)))),
            None => return Err(InvalidFilter(format!("expected an operator after `{}`", path.dotted()))),
        };
        let op = match op.as_str() {
            "pr" => return Ok(Filter::Present(path)),
            "eq" => Op::Eq,
            "ne" => Op::Ne,
            "co" => Op::Co,
            "sw" => Op::Sw,
            "ew" => Op::Ew,
            "gt" => Op::Gt,
            "ge" => Op::Ge,
            "lt" => Op::Lt,
            "le" => Op::Le,
            other => return Err(InvalidFilter(format!("`{other}` is not an operator"))),
        };
        let operand = match self.next() {
            Some(Token::String(s)) => Operand::String(s),
            Some(Token::Number(n)) => Operand::Number(n),
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("true") => Operand::Bool(true),
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("false") => Operand::Bool(false),
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("null") => Operand::Null,
            Some(token) => return Err(InvalidFilter(format!("expected a value, found {}", shown(&token)))),
            None => return Err(InvalidFilter(format!("expected a value after `{}`", path.dotted()))),
        };
        Ok(Filter::Compare(path, op, operand))
    }
}

/// `[urn:...:]name[.sub]`: a URN's last `:` is where the attribute starts.
fn attr_path(word: &str) -> Result<AttrPath, InvalidFilter> {
    let (schema, rest) = match word.rfind(':') {
        Some(at) => (Some(word[..at].to_owned()), &word[at + 1..]),
        None => (None, word),
    };
    let mut names = rest.split('.');
    let name =
        names.next().filter(|n| !n.is_empty()).ok_or_else(|| InvalidFilter(format!("`{word}` names no attribute")))?;
    let sub = names.next().map(str::to_ascii_lowercase);
    if names.next().is_some() || sub.as_deref() == Some("") {
        return Err(InvalidFilter(format!("`{word}` is not an attribute path")));
    }
    Ok(AttrPath { schema, name: name.to_ascii_lowercase(), sub })
}

impl Filter {
    /// Every attribute the filter names, as `name` or `name.sub` (an attribute within a
    /// value path as `outer.inner`).
    pub fn attributes(&self) -> Vec<String> {
        match self {
            Filter::And(a, b) | Filter::Or(a, b) => [a.attributes(), b.attributes()].concat(),
            Filter::Not(inner) => inner.attributes(),
            Filter::Present(path) | Filter::Compare(path, ..) => vec![path.dotted()],
            Filter::Within(path, inner) => {
                inner.attributes().into_iter().map(|a| format!("{}.{a}", path.name)).collect()
            }
        }
    }

    /// Whether `resource` (a SCIM resource's JSON) passes. `case_exact` names the
    /// attributes (`name` or `name.sub`, lower case) compared exactly; all others compare
    /// strings in any case. Moments compare as instants when both sides are RFC 3339.
    pub fn matches(&self, resource: &Value, case_exact: &dyn Fn(&str) -> bool) -> Result<bool, InvalidFilter> {
        Ok(match self {
            Filter::And(a, b) => a.matches(resource, case_exact)? && b.matches(resource, case_exact)?,
            Filter::Or(a, b) => a.matches(resource, case_exact)? || b.matches(resource, case_exact)?,
            Filter::Not(inner) => !inner.matches(resource, case_exact)?,
            Filter::Present(path) => values(resource, path).iter().any(|v| has_value(v)),
            Filter::Compare(path, op, operand) => {
                let exact = case_exact(&path.dotted());
                let found = values(resource, path);
                if *op == Op::Ne {
                    !found.iter().any(|v| compare(v, Op::Eq, operand, exact).unwrap_or(false))
                } else {
                    let mut any = false;
                    for value in found {
                        any |= compare(value, *op, operand, exact)?;
                    }
                    any
                }
            }
            Filter::Within(path, inner) => {
                let mut any = false;
                for element in values(resource, &AttrPath { sub: None, ..path.clone() }) {
                    let within = |attribute: &str| case_exact(&format!("{}.{attribute}", path.name));
                    any |= inner.matches(element, &within)?;
                }
                any
            }
        })
    }
}

/// The values at `path` in `resource`: several for a multi-valued attribute.
fn values<'v>(resource: &'v Value, path: &AttrPath) -> Vec<&'v Value> {
    let field = |object: &'v Value, name: &str| -> Option<&'v Value> {
        object.as_object()?.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, v)| v)
    };
    // An extension's attributes live in an object named by its URN.
    let base = match &path.schema {
        Some(schema) if !schema.to_ascii_lowercase().starts_with("urn:ietf:params:scim:schemas:core:") => {
            match field(resource, schema) {
                Some(extension) => extension,
                None => return Vec::new(),
            }
        }
        _ => resource,
    };
    let flatten = |value: &'v Value| -> Vec<&'v Value> {
        match value {
            Value::Array(items) => items.iter().collect(),
            other => vec![other],
        }
    };
    let Some(top) = field(base, &path.name) else { return Vec::new() };
    match &path.sub {
        None => flatten(top),
        Some(sub) => flatten(top).into_iter().filter_map(|item| field(item, sub)).flat_map(flatten).collect(),
    }
}

fn has_value(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(items) => !items.is_empty(),
        Value::Object(fields) => !fields.is_empty(),
        _ => true,
    }
}

fn compare(value: &Value, op: Op, operand: &Operand, exact: bool) -> Result<bool, InvalidFilter> {
    use std::cmp::Ordering;
    let ordered = |ordering: Ordering| match op {
        Op::Eq => ordering == Ordering::Equal,
        Op::Gt => ordering == Ordering::Greater,
        Op::Ge => ordering != Ordering::Less,
        Op::Lt => ordering == Ordering::Less,
        Op::Le => ordering != Ordering::Greater,
        Op::Ne | Op::Co | Op::Sw | Op::Ew => false,
    };
    Ok(match (value, operand) {
        (Value::String(have), Operand::String(want)) => {
            let instants = instant(have).zip(instant(want));
            let (have, want) =
                if exact { (have.clone(), want.clone()) } else { (have.to_lowercase(), want.to_lowercase()) };
            match op {
                Op::Co => have.contains(&want),
                Op::Sw => have.starts_with(&want),
                Op::Ew => have.ends_with(&want),
                _ => match instants {
                    Some((have, want)) => ordered(have.cmp(&want)),
                    None => ordered(have.cmp(&want)),
                },
            }
        }
        (Value::Number(have), Operand::Number(want)) => match have.as_f64().and_then(|h| h.partial_cmp(want)) {
            Some(ordering) if !matches!(op, Op::Co | Op::Sw | Op::Ew) => ordered(ordering),
            _ => false,
        },
        (Value::Bool(have), Operand::Bool(want)) => match op {
            Op::Eq => have == want,
            _ => return Err(InvalidFilter("booleans compare with eq and ne only".into())),
        },
        (Value::Null, Operand::Null) => op == Op::Eq,
        (_, Operand::Bool(_)) if !matches!(op, Op::Eq | Op::Ne) => {
            return Err(InvalidFilter("booleans compare with eq and ne only".into()));
        }
        _ => false,
    })
}

fn instant(text: &str) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn ana() -> Value {
        json!({
            "id": "u-1",
            "userName": "Ana.Okafor@Example.com",
            "externalId": "00u1",
            "displayName": "Ana Okafor",
            "active": true,
            "name": {"givenName": "Ana", "familyName": "Okafor"},
            "emails": [
                {"value": "ana@example.com", "type": "work", "primary": true},
                {"value": "ana@home.example", "type": "home"}
            ],
            "meta": {"lastModified": "2026-11-30T10:00:00Z"},
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "701984"}
        })
    }

    fn passes(filter: &str) -> bool {
        let exact = |attribute: &str| matches!(attribute, "id" | "externalid");
        parse(filter).unwrap_or_else(|e| panic!("{filter}: {e}")).matches(&ana(), &exact).unwrap()
    }

    #[test]
    fn each_operator_judges_as_the_rfc_says() {
        assert!(passes(r#"userName eq "ana.okafor@example.com""#), "userName is not case-exact");
        assert!(!passes(r#"externalId eq "00U1""#), "externalId is");
        assert!(passes(r#"USERNAME Eq "Ana.Okafor@Example.com""#), "names and operators in any case");
        assert!(
            passes(r#"displayName co "okaf""#)
                && passes(r#"displayName sw "ana""#)
                && passes(r#"displayName ew "FOR""#)
        );
        assert!(passes(r#"userName ne "someone@example.com""#) && !passes(r#"userName ne "ana.okafor@example.com""#));
        assert!(passes("active eq true") && !passes("active eq false") && passes("active ne false"));
        assert!(passes("title ne \"x\""), "ne of a missing attribute holds");
        assert!(passes("name.givenName pr") && !passes("title pr") && passes("emails pr"));
        assert!(passes(r#"meta.lastModified gt "2026-11-30T09:00:00+00:00""#), "moments compare as instants");
        assert!(!passes(r#"meta.lastModified lt "2026-11-30T11:00:00+02:00""#));
        assert!(
            passes(r#"meta.lastModified ge "2026-11-30T10:00:00Z""#)
                && passes(r#"meta.lastModified le "2026-11-30T10:00:00Z""#)
        );
        assert!(passes(r#"emails.value eq "ana@home.example""#), "any value of a multi-valued attribute");
        assert!(passes(r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "ana""#));
        assert!(passes(r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984""#));
    }

    #[test]
    fn logic_binds_not_then_and_then_or_and_parentheses_group() {
        assert!(passes(r#"userName eq "x" or displayName co "ana" and active eq true"#));
        assert!(!passes(r#"(userName eq "x" or displayName co "ana") and active eq false"#));
        assert!(passes(r#"not (active eq false) and not(userName eq "x")"#));
        let filter = parse(r#"a eq 1 or b eq 2 and c eq 3"#).unwrap();
        assert!(matches!(filter, Filter::Or(_, ref right) if matches!(**right, Filter::And(..))), "{filter:?}");
    }

    #[test]
    fn a_value_path_judges_each_element_on_its_own() {
        assert!(passes(r#"emails[type eq "work" and value co "@example.com"]"#));
        assert!(!passes(r#"emails[type eq "home" and value co "@example.com"]"#), "not across elements");
        assert!(passes(r#"emails[primary eq true] and userName sw "ana""#));
        let filter = parse(r#"emails[type eq "work"]"#).unwrap();
        assert_eq!(filter.attributes(), ["emails.type"]);
    }

    #[test]
    fn a_filter_that_is_not_one_is_refused_with_why() {
        for (filter, why) in [
            ("userName", "expected an operator"),
            ("userName xx \"a\"", "`xx` is not an operator"),
            ("userName eq", "expected a value"),
            ("userName eq \"a", "does not end"),
            ("(userName eq \"a\"", "expected `)`"),
            ("userName eq \"a\" userName", "unexpected `userName`"),
            ("not userName eq \"a\"", "expected `(`"),
            ("emails[type eq \"work\"", "expected `]`"),
            ("userName eq \"a\" & x", "`&`"),
            ("a.b.c pr", "not an attribute path"),
        ] {
            let error = parse(filter).expect_err(filter);
            assert!(error.0.contains(why), "{filter}: {error}");
        }
        let exact = |_: &str| false;
        let error = parse("active gt true").unwrap().matches(&ana(), &exact).expect_err("gt on a boolean");
        assert!(error.0.contains("eq and ne only"));
    }

    #[test]
    fn strings_carry_their_json_escapes() {
        assert!(passes(r#"displayName eq "Ana\u0020Okafor""#));
        let filter = parse(r#"displayName eq "say \"hi\"""#).unwrap();
        assert_eq!(
            filter,
            Filter::Compare(attr_path("displayName").unwrap(), Op::Eq, Operand::String("say \"hi\"".into()))
        );
    }
}
