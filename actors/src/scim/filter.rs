//! The SCIM filter grammar (RFC 7644 §3.4.2.2) and PATCH paths (§3.5.2): parsed into a small
//! AST, bounded in length and depth so a hostile filter is refused, never a stall.

use std::fmt;

use serde_json::{Number, Value};

use super::error::{ScimProblem, ScimType};

/// The longest filter or path accepted, in bytes.
pub const MAX_FILTER_BYTES: usize = 4096;
/// The deepest nesting (parentheses, `not`, value paths, and/or chains) accepted.
pub const MAX_FILTER_DEPTH: usize = 32;

/// An attribute reference: `[urn:…:]name[.sub]`. Names keep the case they were written in;
/// SCIM attribute names compare case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPath {
    /// The schema URN prefix, when the name was schema-qualified (without the trailing `:`).
    pub urn: Option<String>,
    pub name: String,
    pub sub: Option<String>,
}

/// The comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
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

/// A parsed filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `attr pr`
    Present(AttrPath),
    /// `attr op value`; the value is a JSON string, number, boolean or null.
    Compare(AttrPath, CompareOp, Value),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    /// `attr[filter]`: some element of the multi-valued `attr` matches `filter`, whose
    /// attribute paths are relative to the element (e.g. `type`, `value`).
    ValuePath(AttrPath, Box<Filter>),
}

/// A PATCH operation's `path`: `attr`, `attr.sub`, `attr[filter]` or `attr[filter].sub`
/// (each optionally schema-qualified).
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    /// The attribute (its `sub` is set for `attr.sub`, never together with `filter`).
    pub attr: AttrPath,
    pub filter: Option<Filter>,
    /// The sub-attribute after a value filter: `emails[type eq "work"].value` → `value`.
    pub sub: Option<String>,
}

/// Parses a filter; `invalidFilter` (400) for anything malformed, too long or too deep.
///
/// Keywords (`and`, `or`, `not`, operators, `true`/`false`/`null`) are case-insensitive; `not`
/// binds tightest and must be followed by `(`, then `and`, then `or`. A chain of the same logical
/// operator (`a or b or c …`) becomes a balanced tree (they are associative), so a long `or` list
/// of ids stays shallow; every filter returned has [`Filter::depth`] ≤ [`MAX_FILTER_DEPTH`].
/// Value filters (`emails[…]`) do not nest, and no attribute can be called `not`.
pub fn parse_filter(text: &str) -> Result<Filter, ScimProblem> {
    let mut parser = Parser::new(text, ScimType::InvalidFilter)?;
    let filter = parser.parse_or()?;
    parser.expect_end("'and', 'or' or the end of the filter")?;
    parser.check_depth(&filter)?;
    Ok(filter)
}

/// Parses a PATCH path; `invalidPath` (400) for anything malformed, too long or too deep.
///
/// A malformed filter inside the brackets is `invalidFilter`, as RFC 7644 §3.12 (Table 9) assigns
/// that type to "PATCH (Path Filter)"; everything around it (names, brackets, the trailing
/// `.sub`) is `invalidPath`. A bare schema URN (`urn:…:enterprise:2.0:User`) names the extension
/// object: see [`AttrPath::is_schema_urn`].
pub fn parse_path(text: &str) -> Result<PatchPath, ScimProblem> {
    let mut parser = Parser::new(text, ScimType::InvalidPath)?;
    let attr = parser.attr_path()?;
    let bracket = parser.peek()?;
    let filter = match bracket.tok {
        Tok::LBracket if attr.sub.is_some() => {
            return Err(parser.error("a value filter cannot follow a sub-attribute", bracket.at));
        }
        Tok::LBracket => Some(parser.value_filter(&attr, bracket.at)?),
        _ => None,
    };
    let sub = match filter {
        Some(_) => parser.trailing_sub()?,
        None => None,
    };
    parser.expect_end("the end of the path")?;
    if let Some(filter) = &filter {
        parser.check_depth(filter)?;
    }
    Ok(PatchPath { attr, filter, sub })
}

/// Whether `urn` is one of the core schemas (User, Group), whose attributes sit at the top level
/// of a resource rather than inside an extension object.
pub fn is_core_urn(urn: &str) -> bool {
    urn.eq_ignore_ascii_case(CORE_USER_URN) || urn.eq_ignore_ascii_case(CORE_GROUP_URN)
}

const CORE_USER_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const CORE_GROUP_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

impl AttrPath {
    /// Parses one attribute path (`name`, `name.sub`, `urn:…:name[.sub]` or a bare schema URN), as
    /// found in `attributes=`, `sortBy` and dotted PATCH value keys; `invalidPath` when malformed.
    pub fn parse(text: &str) -> Result<AttrPath, ScimProblem> {
        let mut parser = Parser::new(text, ScimType::InvalidPath)?;
        let attr = parser.attr_path()?;
        parser.expect_end("the end of the attribute path")?;
        Ok(attr)
    }

    /// Whether this path's attribute is `name`, compared case-insensitively as SCIM requires.
    pub fn matches_name(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }

    /// Whether this path names a whole schema object rather than an attribute.
    ///
    /// Representation: a path whose text is a schema URN (its URN part ends in a version segment,
    /// as in `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`) is kept as
    /// `AttrPath { urn: None, name: <the full URN>, sub: None }`. That is exactly the key under
    /// which the extension object sits in a resource, so looking `name` up at the top level finds
    /// it; a bare core URN names nothing (core attributes are not nested under their URN).
    pub fn is_schema_urn(&self) -> bool {
        self.urn.is_none() && self.name.contains(':')
    }

    /// The extension schema the attribute lives in: `Some` only for a URN-qualified name whose
    /// URN is not a core schema (core attributes live at the top level).
    pub fn extension_urn(&self) -> Option<&str> {
        self.urn.as_deref().filter(|urn| !is_core_urn(urn))
    }
}

impl CompareOp {
    /// The operator's canonical (lower-case) spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        }
    }

    /// The operator a keyword names, in any case (`EQ`, `Eq`, `eq`); `None` for anything else.
    pub fn from_keyword(word: &str) -> Option<CompareOp> {
        const ALL: [CompareOp; 9] = [
            CompareOp::Eq,
            CompareOp::Ne,
            CompareOp::Co,
            CompareOp::Sw,
            CompareOp::Ew,
            CompareOp::Gt,
            CompareOp::Ge,
            CompareOp::Lt,
            CompareOp::Le,
        ];
        ALL.into_iter().find(|op| op.as_str().eq_ignore_ascii_case(word))
    }
}

impl Filter {
    /// The height of the tree (a comparison is 1); parsed filters never exceed
    /// [`MAX_FILTER_DEPTH`], so code walking them recursively is bounded.
    pub fn depth(&self) -> usize {
        match self {
            Filter::Present(_) | Filter::Compare(..) => 1,
            Filter::And(left, right) | Filter::Or(left, right) => 1 + left.depth().max(right.depth()),
            Filter::Not(inner) | Filter::ValuePath(_, inner) => 1 + inner.depth(),
        }
    }
}

/// Canonical text: `urn:…:name.sub`, re-parsable by [`AttrPath::parse`].
impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(urn) = &self.urn {
            write!(f, "{urn}:")?;
        }
        f.write_str(&self.name)?;
        if let Some(sub) = &self.sub {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

/// The lower-case keyword.
impl fmt::Display for CompareOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Canonical text (for logs and error details): lower-case keywords, JSON values, and every
/// nested `and`/`or` in parentheses, so `parse_filter(&f.to_string()) == Ok(f)` for parsed filters.
impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Filter::Present(path) => write!(f, "{path} pr"),
            Filter::Compare(path, op, value) => write!(f, "{path} {op} {value}"),
            Filter::And(left, right) => write!(f, "{} and {}", Operand(left), Operand(right)),
            Filter::Or(left, right) => write!(f, "{} or {}", Operand(left), Operand(right)),
            Filter::Not(inner) => write!(f, "not ({inner})"),
            Filter::ValuePath(path, inner) => write!(f, "{path}[{inner}]"),
        }
    }
}

/// An operand of `and`/`or`, parenthesised when it is itself a logical expression.
struct Operand<'a>(&'a Filter);

impl fmt::Display for Operand<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Filter::And(..) | Filter::Or(..) => write!(f, "({})", self.0),
            other => write!(f, "{other}"),
        }
    }
}

/// Canonical text, re-parsable by [`parse_path`].
impl fmt::Display for PatchPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.attr)?;
        if let Some(filter) = &self.filter {
            write!(f, "[{filter}]")?;
        }
        if let Some(sub) = &self.sub {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Attribute names
// ---------------------------------------------------------------------------------------------

/// Splits a word (`urn:…:name.sub`) into an attribute path, or says why it is not one.
fn attr_path_from_word(word: &str) -> Result<AttrPath, String> {
    let Some((urn, rest)) = word.rsplit_once(':') else {
        return name_and_sub(None, word);
    };
    check_urn(urn)?;
    let last_segment = urn.rsplit(':').next().unwrap_or_default();
    if last_segment.starts_with(|c: char| c.is_ascii_digit()) {
        // `…:2.0:User`: the whole word is a schema URN, naming the extension object.
        if rest.contains('.') {
            return Err(format!("schema URN '{}' must be followed by ':' and an attribute name", shown(word)));
        }
        check_name(rest)?;
        return Ok(AttrPath { urn: None, name: word.to_string(), sub: None });
    }
    name_and_sub(Some(urn), rest)
}

/// `name` or `name.sub`, each a valid attribute name.
fn name_and_sub(urn: Option<&str>, text: &str) -> Result<AttrPath, String> {
    let mut parts = text.split('.');
    let name = parts.next().unwrap_or_default();
    let sub = parts.next();
    if parts.next().is_some() {
        return Err(format!("'{}' has more than one sub-attribute", shown(text)));
    }
    check_name(name)?;
    if let Some(sub) = sub {
        check_name(sub)?;
    }
    Ok(AttrPath { urn: urn.map(str::to_string), name: name.to_string(), sub: sub.map(str::to_string) })
}

/// RFC 7644: `ATTRNAME = ALPHA *(nameChar)`, `nameChar = "-" / "_" / DIGIT / ALPHA`; plus `$ref`.
fn check_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let valid = name.eq_ignore_ascii_case("$ref")
        || (chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    if valid {
        Ok(())
    } else if name.is_empty() {
        Err("an attribute name is empty".to_string())
    } else {
        Err(format!("'{}' is not a valid attribute name", shown(name)))
    }
}

/// A schema URN prefix: `urn:` then non-empty `:`-separated segments of letters, digits, `.-_`.
fn check_urn(urn: &str) -> Result<(), String> {
    let has_prefix = urn.get(..4).is_some_and(|prefix| prefix.eq_ignore_ascii_case("urn:"));
    let segments_ok = urn
        .split(':')
        .all(|seg| !seg.is_empty() && seg.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')));
    if has_prefix && segments_ok {
        Ok(())
    } else {
        Err(format!("'{}' is not a schema URN (urn:…)", shown(urn)))
    }
}

/// At most 64 characters of `text`, for error details.
fn shown(text: &str) -> String {
    let mut out: String = text.chars().take(64).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Tokens
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Tok<'a> {
    LParen,
    RParen,
    LBracket,
    RBracket,
    Dot,
    /// An attribute path, keyword or operator: letters, digits, `_-.:$`.
    Word(&'a str),
    /// A JSON string, already decoded.
    Str(String),
    Num(Number),
    End,
    /// What could not be read at this offset; the parser reports it when it gets there.
    Bad(String),
}

#[derive(Debug, Clone)]
struct Token<'a> {
    tok: Tok<'a>,
    /// Byte offset in the text.
    at: usize,
}

/// Splits `text` into tokens, ending with `End`, or with `Bad` at the first unreadable spot.
fn tokenize(text: &str) -> Vec<Token<'_>> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut at = 0;
    loop {
        while bytes.get(at).is_some_and(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n')) {
            at += 1;
        }
        let Some(&byte) = bytes.get(at) else {
            tokens.push(Token { tok: Tok::End, at });
            return tokens;
        };
        let (tok, next) = lex_one(text, at, byte);
        let bad = matches!(tok, Tok::Bad(_));
        tokens.push(Token { tok, at });
        if bad {
            return tokens;
        }
        at = next;
    }
}

/// The token starting at `at` (whose first byte is `byte`) and the offset after it.
fn lex_one(text: &str, at: usize, byte: u8) -> (Tok<'_>, usize) {
    match byte {
        b'(' => (Tok::LParen, at + 1),
        b')' => (Tok::RParen, at + 1),
        b'[' => (Tok::LBracket, at + 1),
        b']' => (Tok::RBracket, at + 1),
        b'.' => (Tok::Dot, at + 1),
        b'"' => lex_string(text, at),
        b'-' | b'0'..=b'9' => lex_number(text, at),
        b if b.is_ascii_alphabetic() || b == b'$' || b == b'_' => {
            let end = scan(text, at, |b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':' | b'$'));
            (Tok::Word(slice(text, at, end)), end)
        }
        _ => (Tok::Bad(unexpected_char(text, at)), at),
    }
}

/// A JSON string literal from the `"` at `at` to its closing `"`, decoded by serde_json.
fn lex_string(text: &str, at: usize) -> (Tok<'_>, usize) {
    let bytes = text.as_bytes();
    let mut end = at + 1;
    loop {
        match bytes.get(end) {
            None => return (Tok::Bad("unterminated string".to_string()), at),
            Some(b'"') => break,
            Some(b'\\') => end += 2,
            Some(_) => end += 1,
        }
    }
    match serde_json::from_str::<String>(slice(text, at, end + 1)) {
        Ok(decoded) => (Tok::Str(decoded), end + 1),
        Err(_) => (Tok::Bad("invalid JSON string (bad escape or raw control character)".to_string()), at),
    }
}

/// A JSON number (`-12`, `1.5`, `-1.4e+10`).
fn lex_number(text: &str, at: usize) -> (Tok<'_>, usize) {
    let end = scan(text, at, |b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'));
    let literal = slice(text, at, end);
    match literal.parse::<Number>() {
        Ok(number) => (Tok::Num(number), end),
        Err(_) => (Tok::Bad(format!("invalid number '{}'", shown(literal))), at),
    }
}

/// The offset after the run of bytes from `at` that satisfy `keep` (all ASCII).
fn scan(text: &str, at: usize, keep: impl Fn(u8) -> bool) -> usize {
    let bytes = text.as_bytes();
    let mut end = at;
    while bytes.get(end).is_some_and(|&b| keep(b)) {
        end += 1;
    }
    end
}

/// `text[start..end]`, or "" if that is not a char-boundary range (never the case: token ends
/// are ASCII bytes).
fn slice(text: &str, start: usize, end: usize) -> &str {
    text.get(start..end).unwrap_or_default()
}

fn unexpected_char(text: &str, at: usize) -> String {
    match text.get(at..).and_then(|rest| rest.chars().next()) {
        Some('\'') => "unexpected single quote (strings use double quotes)".to_string(),
        Some(c) => format!("unexpected character {c:?}"),
        None => "unexpected byte".to_string(),
    }
}

/// How a token is named in an error detail (string values are not echoed).
fn describe(tok: &Tok<'_>) -> String {
    match tok {
        Tok::LParen => "'('".to_string(),
        Tok::RParen => "')'".to_string(),
        Tok::LBracket => "'['".to_string(),
        Tok::RBracket => "']'".to_string(),
        Tok::Dot => "'.'".to_string(),
        Tok::Word(word) => format!("'{}'", shown(word)),
        Tok::Str(_) => "a string".to_string(),
        Tok::Num(_) => "a number".to_string(),
        Tok::End => "the end".to_string(),
        Tok::Bad(reason) => reason.clone(),
    }
}

fn is_keyword(tok: &Tok<'_>, keyword: &str) -> bool {
    matches!(tok, Tok::Word(word) if word.eq_ignore_ascii_case(keyword))
}

// ---------------------------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------------------------

/// Recursive descent over the token list; `depth` counts open `(`, `not (` and `[`, checked
/// before each descent so no input can exhaust the stack.
struct Parser<'a> {
    tokens: Vec<Token<'a>>,
    pos: usize,
    depth: usize,
    in_value_filter: bool,
    scim_type: ScimType,
}

impl<'a> Parser<'a> {
    /// Refuses over-long and empty text, then tokenizes.
    fn new(text: &'a str, scim_type: ScimType) -> Result<Self, ScimProblem> {
        if text.len() > MAX_FILTER_BYTES {
            let detail = format!("longer than {MAX_FILTER_BYTES} bytes ({} bytes)", text.len());
            return Err(ScimProblem::bad(scim_type, detail));
        }
        if text.trim_matches([' ', '\t', '\r', '\n']).is_empty() {
            return Err(ScimProblem::bad(scim_type, "empty"));
        }
        Ok(Parser { tokens: tokenize(text), pos: 0, depth: 0, in_value_filter: false, scim_type })
    }

    fn error(&self, what: impl fmt::Display, at: usize) -> ScimProblem {
        ScimProblem::bad(self.scim_type, format!("{what} at byte {at}"))
    }

    /// The next token (cloned: tokens are small and the text is bounded); an unreadable spot is
    /// reported here.
    fn peek(&self) -> Result<Token<'a>, ScimProblem> {
        let token = self.tokens.get(self.pos).or(self.tokens.last()).cloned();
        let token = token.unwrap_or(Token { tok: Tok::End, at: 0 });
        match &token.tok {
            Tok::Bad(reason) => Err(self.error(reason, token.at)),
            _ => Ok(token),
        }
    }

    fn advance(&mut self) {
        if self.pos + 1 < self.tokens.len() {
            self.pos += 1;
        }
    }

    fn expect(&mut self, want: Tok<'static>, name: &str) -> Result<(), ScimProblem> {
        let token = self.peek()?;
        if token.tok != want {
            return Err(self.error(format!("expected {name}, found {}", describe(&token.tok)), token.at));
        }
        self.advance();
        Ok(())
    }

    fn expect_end(&mut self, expected: &str) -> Result<(), ScimProblem> {
        let token = self.peek()?;
        match token.tok {
            Tok::End => Ok(()),
            other => Err(self.error(format!("expected {expected}, found {}", describe(&other)), token.at)),
        }
    }

    fn enter(&mut self, at: usize) -> Result<(), ScimProblem> {
        if self.depth >= MAX_FILTER_DEPTH {
            return Err(self.error(format!("nested deeper than {MAX_FILTER_DEPTH} levels"), at));
        }
        self.depth += 1;
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    fn check_depth(&self, filter: &Filter) -> Result<(), ScimProblem> {
        if filter.depth() > MAX_FILTER_DEPTH {
            return Err(self.error(format!("nested deeper than {MAX_FILTER_DEPTH} levels"), 0));
        }
        Ok(())
    }

    /// `or` binds loosest: `and-expr *("or" and-expr)`.
    fn parse_or(&mut self) -> Result<Filter, ScimProblem> {
        let first = self.parse_and()?;
        let mut rest = Vec::new();
        while is_keyword(&self.peek()?.tok, "or") {
            self.advance();
            rest.push(self.parse_and()?);
        }
        Ok(balanced(first, rest, |l, r| Filter::Or(Box::new(l), Box::new(r))))
    }

    /// `term *("and" term)`.
    fn parse_and(&mut self) -> Result<Filter, ScimProblem> {
        let first = self.parse_term()?;
        let mut rest = Vec::new();
        while is_keyword(&self.peek()?.tok, "and") {
            self.advance();
            rest.push(self.parse_term()?);
        }
        Ok(balanced(first, rest, |l, r| Filter::And(Box::new(l), Box::new(r))))
    }

    /// `"(" filter ")"`, `"not" "(" filter ")"`, or an attribute expression / value path.
    fn parse_term(&mut self) -> Result<Filter, ScimProblem> {
        let token = self.peek()?;
        match token.tok {
            Tok::LParen => {
                self.advance();
                self.grouped(token.at)
            }
            Tok::Word(word) if word.eq_ignore_ascii_case("not") => {
                self.advance();
                let paren = self.peek()?;
                if paren.tok != Tok::LParen {
                    return Err(self.error("'not' must be followed by '('", paren.at));
                }
                self.advance();
                Ok(Filter::Not(Box::new(self.grouped(token.at)?)))
            }
            Tok::Word(_) => self.attr_expr(),
            other => {
                let found = describe(&other);
                Err(self.error(format!("expected an attribute name, '(' or 'not', found {found}"), token.at))
            }
        }
    }

    /// The inside of a parenthesis whose `(` has been consumed.
    fn grouped(&mut self, at: usize) -> Result<Filter, ScimProblem> {
        self.enter(at)?;
        let inner = self.parse_or()?;
        self.expect(Tok::RParen, "')'")?;
        self.leave();
        Ok(inner)
    }

    /// `attrPath "pr"`, `attrPath op value` or `attrPath "[" valFilter "]"`.
    fn attr_expr(&mut self) -> Result<Filter, ScimProblem> {
        let attr = self.attr_path()?;
        let token = self.peek()?;
        match token.tok {
            Tok::LBracket => {
                let inner = self.value_filter(&attr, token.at)?;
                Ok(Filter::ValuePath(attr, Box::new(inner)))
            }
            Tok::Word(word) if word.eq_ignore_ascii_case("pr") => {
                self.advance();
                Ok(Filter::Present(attr))
            }
            Tok::Word(word) => match CompareOp::from_keyword(word) {
                Some(op) => {
                    self.advance();
                    let value = self.compare_value(op)?;
                    Ok(Filter::Compare(attr, op, value))
                }
                None => Err(self.error(format!("unknown operator '{}'", shown(word)), token.at)),
            },
            other => {
                let found = describe(&other);
                let what =
                    format!("expected an operator (eq ne co sw ew gt ge lt le pr) after '{attr}', found {found}");
                Err(self.error(what, token.at))
            }
        }
    }

    /// An attribute path word.
    fn attr_path(&mut self) -> Result<AttrPath, ScimProblem> {
        let token = self.peek()?;
        let Tok::Word(word) = token.tok else {
            return Err(self.error(format!("expected an attribute name, found {}", describe(&token.tok)), token.at));
        };
        let attr = attr_path_from_word(word).map_err(|why| self.error(why, token.at))?;
        self.advance();
        Ok(attr)
    }

    /// `"[" valFilter "]"` after `attr` (the `[` is next); value filters do not nest. The filter
    /// inside is reported as `invalidFilter` even within a PATCH path.
    fn value_filter(&mut self, attr: &AttrPath, at: usize) -> Result<Filter, ScimProblem> {
        if self.in_value_filter {
            return Err(self.error("a value filter cannot contain another value filter", at));
        }
        if attr.is_schema_urn() {
            return Err(self.error("a value filter needs a multi-valued attribute, not a schema URN", at));
        }
        self.enter(at)?;
        self.advance();
        let outer_type = self.scim_type;
        self.scim_type = ScimType::InvalidFilter;
        self.in_value_filter = true;
        let inner = self.parse_or()?;
        self.in_value_filter = false;
        self.scim_type = outer_type;
        self.expect(Tok::RBracket, "']'")?;
        self.leave();
        Ok(inner)
    }

    /// The `.sub` after a PATCH path's `]`, if any.
    fn trailing_sub(&mut self) -> Result<Option<String>, ScimProblem> {
        if self.peek()?.tok != Tok::Dot {
            return Ok(None);
        }
        self.advance();
        let token = self.peek()?;
        let Tok::Word(word) = token.tok else {
            return Err(self.error(format!("expected a sub-attribute name, found {}", describe(&token.tok)), token.at));
        };
        check_name(word).map_err(|why| self.error(why, token.at))?;
        self.advance();
        Ok(Some(word.to_string()))
    }

    /// The value after `op`: a JSON string, number, or `true`/`false`/`null` in any case.
    fn compare_value(&mut self, op: CompareOp) -> Result<Value, ScimProblem> {
        let token = self.peek()?;
        let value = match token.tok {
            Tok::Str(text) => Value::String(text),
            Tok::Num(number) => Value::Number(number),
            Tok::Word(word) if word.eq_ignore_ascii_case("true") => Value::Bool(true),
            Tok::Word(word) if word.eq_ignore_ascii_case("false") => Value::Bool(false),
            Tok::Word(word) if word.eq_ignore_ascii_case("null") => Value::Null,
            other => {
                let found = describe(&other);
                let what =
                    format!("expected a value after '{op}' (a \"string\", number, true, false or null), found {found}");
                return Err(self.error(what, token.at));
            }
        };
        check_operand(op, &value).map_err(|why| self.error(why, token.at))?;
        self.advance();
        Ok(value)
    }
}

/// RFC 7644: ordering booleans is an error; `co`/`sw`/`ew` are substring tests on strings.
fn check_operand(op: CompareOp, value: &Value) -> Result<(), String> {
    match (op, value) {
        (CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le, Value::Bool(_) | Value::Null) => {
            Err(format!("'{op}' cannot compare with a boolean or null"))
        }
        (CompareOp::Co | CompareOp::Sw | CompareOp::Ew, value) if !value.is_string() => {
            Err(format!("'{op}' needs a string value"))
        }
        _ => Ok(()),
    }
}

/// Joins `first` and `rest` with `join` as a balanced tree, left-leaning: `[a, b, c]` gives
/// `join(join(a, b), c)`, the same as left association for up to three terms.
fn balanced(first: Filter, mut rest: Vec<Filter>, join: fn(Filter, Filter) -> Filter) -> Filter {
    if rest.is_empty() {
        return first;
    }
    let left_len = (rest.len() + 1).div_ceil(2);
    let mut right = rest.split_off(left_len - 1).into_iter();
    match right.next() {
        Some(right_first) => join(balanced(first, rest, join), balanced(right_first, right.collect(), join)),
        None => balanced(first, rest, join),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

    fn path(text: &str) -> AttrPath {
        AttrPath::parse(text).unwrap_or_else(|e| panic!("{text:?}: {}", e.detail))
    }
    fn cmp(attr: &str, op: CompareOp, value: Value) -> Filter {
        Filter::Compare(path(attr), op, value)
    }
    fn eq(attr: &str, value: Value) -> Filter {
        cmp(attr, CompareOp::Eq, value)
    }
    fn pr(attr: &str) -> Filter {
        Filter::Present(path(attr))
    }
    fn and(left: Filter, right: Filter) -> Filter {
        Filter::And(Box::new(left), Box::new(right))
    }
    fn or(left: Filter, right: Filter) -> Filter {
        Filter::Or(Box::new(left), Box::new(right))
    }
    fn not(inner: Filter) -> Filter {
        Filter::Not(Box::new(inner))
    }
    fn vp(attr: &str, inner: Filter) -> Filter {
        Filter::ValuePath(path(attr), Box::new(inner))
    }
    fn ok(text: &str) -> Filter {
        parse_filter(text).unwrap_or_else(|e| panic!("{text:?} refused: {}", e.detail))
    }
    fn refused(text: &str) -> ScimProblem {
        let problem = match parse_filter(text) {
            Ok(filter) => panic!("{text:?} accepted as {filter:?}"),
            Err(problem) => problem,
        };
        assert_eq!(problem.scim_type, Some(ScimType::InvalidFilter), "{text:?}: {}", problem.detail);
        assert_eq!(problem.status, 400);
        problem
    }
    fn path_ok(text: &str) -> PatchPath {
        parse_path(text).unwrap_or_else(|e| panic!("{text:?} refused: {}", e.detail))
    }
    fn path_refused(text: &str, scim_type: ScimType) -> ScimProblem {
        let problem = match parse_path(text) {
            Ok(parsed) => panic!("{text:?} accepted as {parsed:?}"),
            Err(problem) => problem,
        };
        assert_eq!(problem.scim_type, Some(scim_type), "{text:?}: {}", problem.detail);
        problem
    }

    // --- operators, precedence, grouping ------------------------------------------------------

    #[test]
    fn every_comparison_operator_in_any_case() {
        let ops = [
            ("eq", CompareOp::Eq),
            ("ne", CompareOp::Ne),
            ("co", CompareOp::Co),
            ("sw", CompareOp::Sw),
            ("ew", CompareOp::Ew),
            ("gt", CompareOp::Gt),
            ("ge", CompareOp::Ge),
            ("lt", CompareOp::Lt),
            ("le", CompareOp::Le),
        ];
        for (keyword, op) in ops {
            for spelling in [
                keyword.to_string(),
                keyword.to_uppercase(),
                format!("{}{}", &keyword[..1].to_uppercase(), &keyword[1..]),
            ] {
                assert_eq!(ok(&format!(r#"title {spelling} "x""#)), cmp("title", op, json!("x")), "{spelling}");
            }
        }
    }

    #[test]
    fn present_takes_no_value() {
        assert_eq!(ok("title pr"), pr("title"));
        assert_eq!(ok("title PR"), pr("title"));
        refused(r#"title pr "x""#);
        refused("title pr true");
    }

    #[test]
    fn and_binds_tighter_than_or() {
        let (a, b, c) = (eq("a", json!(1)), eq("b", json!(2)), eq("c", json!(3)));
        assert_eq!(ok("a eq 1 or b eq 2 and c eq 3"), or(a.clone(), and(b.clone(), c.clone())));
        assert_eq!(ok("a eq 1 and b eq 2 or c eq 3"), or(and(a.clone(), b.clone()), c.clone()));
        assert_eq!(ok("a eq 1 AND b eq 2 Or c eq 3"), or(and(a.clone(), b.clone()), c.clone()));
        assert_eq!(ok("a eq 1 or b eq 2 or c eq 3"), or(or(a.clone(), b.clone()), c.clone()));
        assert_eq!(ok("a eq 1 and b eq 2 and c eq 3"), and(and(a, b), c));
    }

    #[test]
    fn parentheses_override_precedence() {
        let (a, b, c) = (eq("a", json!(1)), eq("b", json!(2)), eq("c", json!(3)));
        assert_eq!(ok("(a eq 1 or b eq 2) and c eq 3"), and(or(a.clone(), b.clone()), c.clone()));
        assert_eq!(ok("a eq 1 and (b eq 2 or c eq 3)"), and(a.clone(), or(b, c)));
        assert_eq!(ok("((( a eq 1 )))"), a.clone());
        assert_eq!(ok("(a eq 1)"), a);
    }

    #[test]
    fn not_needs_parentheses_and_binds_tightest() {
        assert_eq!(ok("not (a pr)"), not(pr("a")));
        assert_eq!(ok("not(a pr)"), not(pr("a")));
        assert_eq!(ok("NOT (a pr)"), not(pr("a")));
        assert_eq!(ok("Not(a pr)"), not(pr("a")));
        assert_eq!(ok("not (a pr) and b pr"), and(not(pr("a")), pr("b")));
        assert_eq!(ok("b pr or not (a pr or c pr)"), or(pr("b"), not(or(pr("a"), pr("c")))));
        assert_eq!(ok("not (not (a pr))"), not(not(pr("a"))));
        let problem = refused("not a pr");
        assert!(problem.detail.contains("'not' must be followed by '('"), "{}", problem.detail);
        refused("not");
        refused("not ()");
        refused("a pr and not");
    }

    #[test]
    fn long_chains_become_balanced_trees() {
        let ids: Vec<String> = (0..200).map(|i| format!(r#"id eq "{i}""#)).collect();
        let filter = ok(&ids.join(" or "));
        assert_eq!(filter.depth(), 9, "200 terms: 8 levels of `or`, one of comparisons");
        fn leaves(filter: &Filter, out: &mut Vec<String>) {
            match filter {
                Filter::Or(left, right) => {
                    leaves(left, out);
                    leaves(right, out);
                }
                Filter::Compare(_, _, Value::String(id)) => out.push(id.clone()),
                other => panic!("unexpected {other:?}"),
            }
        }
        let mut found = Vec::new();
        leaves(&filter, &mut found);
        let expected: Vec<String> = (0..200).map(|i| i.to_string()).collect();
        assert_eq!(found, expected, "order of the terms is kept");
        let four = ok("a pr and b pr and c pr and d pr");
        assert_eq!(four, and(and(pr("a"), pr("b")), and(pr("c"), pr("d"))));
    }

    // --- attribute paths ----------------------------------------------------------------------

    #[test]
    fn value_paths() {
        let inner = and(eq("type", json!("work")), cmp("value", CompareOp::Co, json!("@x")));
        assert_eq!(ok(r#"emails[type eq "work" and value co "@x"]"#), vp("emails", inner));
        assert_eq!(
            ok(r#"emails[type eq "work"] and userName sw "a""#),
            and(vp("emails", eq("type", json!("work"))), cmp("userName", CompareOp::Sw, json!("a")))
        );
        assert_eq!(ok(r#"emails[not (type eq "work")]"#), vp("emails", not(eq("type", json!("work")))));
        assert_eq!(ok("emails[primary eq true]"), vp("emails", eq("primary", json!(true))));
        assert_eq!(ok("emails[ value pr ]"), vp("emails", pr("value")));
    }

    #[test]
    fn sub_attributes() {
        let filter = ok(r#"name.familyName co "O'Malley""#);
        let expected_path = AttrPath { urn: None, name: "name".into(), sub: Some("familyName".into()) };
        assert_eq!(filter, Filter::Compare(expected_path, CompareOp::Co, json!("O'Malley")));
        assert_eq!(
            ok("members.$ref pr"),
            Filter::Present(AttrPath { urn: None, name: "members".into(), sub: Some("$ref".into()) })
        );
        refused("name.familyName.x pr");
        refused("name. pr");
        refused(".name pr");
    }

    #[test]
    fn schema_qualified_names() {
        let core = ok(r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#);
        let core_path = AttrPath {
            urn: Some("urn:ietf:params:scim:schemas:core:2.0:User".into()),
            name: "userName".into(),
            sub: None,
        };
        assert_eq!(core, Filter::Compare(core_path.clone(), CompareOp::Sw, json!("J")));
        assert_eq!(core_path.extension_urn(), None);

        let department = ok(&format!(r#"{ENTERPRISE}:department eq "Tour Operations""#));
        let department_path = AttrPath { urn: Some(ENTERPRISE.into()), name: "department".into(), sub: None };
        assert_eq!(department, Filter::Compare(department_path.clone(), CompareOp::Eq, json!("Tour Operations")));
        assert_eq!(department_path.extension_urn(), Some(ENTERPRISE));

        let manager = ok(&format!(r#"{ENTERPRISE}:manager.value eq "26118915""#));
        let manager_path = AttrPath { urn: Some(ENTERPRISE.into()), name: "manager".into(), sub: Some("value".into()) };
        assert_eq!(manager, Filter::Compare(manager_path, CompareOp::Eq, json!("26118915")));

        assert_eq!(
            ok(&format!("{ENTERPRISE}:employeeNumber pr")),
            Filter::Present(AttrPath { urn: Some(ENTERPRISE.into()), name: "employeeNumber".into(), sub: None })
        );
        let group = ok(r#"URN:IETF:params:scim:schemas:core:2.0:Group:displayName eq "x""#);
        let Filter::Compare(group_path, ..) = group else { panic!() };
        assert!(is_core_urn(group_path.urn.as_deref().unwrap_or_default()));
    }

    #[test]
    fn bare_schema_urn_names_the_extension_object() {
        let attr = path(ENTERPRISE);
        assert_eq!(attr, AttrPath { urn: None, name: ENTERPRISE.into(), sub: None });
        assert!(attr.is_schema_urn());
        assert!(attr.matches_name("URN:ietf:params:scim:schemas:extension:enterprise:2.0:user"));
        assert_eq!(ok(&format!("{ENTERPRISE} pr")), Filter::Present(attr.clone()));
        assert_eq!(attr.to_string(), ENTERPRISE);
        let problem = refused(&format!("{ENTERPRISE}.manager pr"));
        assert!(problem.detail.contains("must be followed by ':'"), "{}", problem.detail);
        refused(&format!(r#"{ENTERPRISE}[value eq "x"]"#));
        assert!(!path("userName").is_schema_urn());
        assert!(!path(&format!("{ENTERPRISE}:manager")).is_schema_urn());
    }

    #[test]
    fn attribute_names_are_case_insensitive_but_kept_as_written() {
        let lower = ok(r#"userName Eq "john""#);
        let upper = ok(r#"Username eq "john""#);
        let (Filter::Compare(lower_path, ..), Filter::Compare(upper_path, ..)) = (&lower, &upper) else { panic!() };
        assert_eq!(lower_path.name, "userName");
        assert_eq!(upper_path.name, "Username");
        assert!(lower_path.matches_name("USERNAME") && upper_path.matches_name("userName"));
        assert!(!lower_path.matches_name("userNam"));
    }

    #[test]
    fn invalid_attribute_names() {
        for text in ["1abc pr", "_a pr", "a$ pr", "$refx pr", "foo:bar pr", "urn: pr", "urn:x: pr", "urn::x:y pr"] {
            refused(text);
        }
        for text in ["", "1abc", "a..b", "a.b.c", "a b", "urn:x", "foo:bar", "emails[type pr]", "a.", "ab\u{e9}"] {
            let problem = AttrPath::parse(text).expect_err(text);
            assert_eq!(problem.scim_type, Some(ScimType::InvalidPath), "{text:?}");
        }
        assert_eq!(path("a-b_c9"), AttrPath { urn: None, name: "a-b_c9".into(), sub: None });
        assert_eq!(path("members.$REF").sub.as_deref(), Some("$REF"));
    }

    // --- values -------------------------------------------------------------------------------

    #[test]
    fn string_values_are_json_strings() {
        assert_eq!(ok(r#"a eq "say \"hi\"""#), eq("a", json!("say \"hi\"")));
        assert_eq!(ok(r#"a eq "back\\slash""#), eq("a", json!("back\\slash")));
        assert_eq!(ok(r#"a eq "caf\u00e9""#), eq("a", json!("café")));
        assert_eq!(ok(r#"a eq "tab\tnew\nline\/""#), eq("a", json!("tab\tnew\nline/")));
        assert_eq!(ok(r#"a eq "\ud83d\ude00""#), eq("a", json!("😀")));
        assert_eq!(ok(r#"a eq """#), eq("a", json!("")));
        assert_eq!(ok(r#"a eq "Zoë 日本 (x) [y] and or""#), eq("a", json!("Zoë 日本 (x) [y] and or")));
        refused(r#"a eq "bad \x escape""#);
        refused(r#"a eq "lone \ud800 surrogate""#);
        refused("a eq \"raw\nnewline\"");
        refused(r#"a eq "trailing backslash\"#);
    }

    #[test]
    fn number_values() {
        assert_eq!(ok("a eq 42"), eq("a", json!(42)));
        assert_eq!(ok("a eq 0"), eq("a", json!(0)));
        assert_eq!(ok("a eq -7"), eq("a", json!(-7)));
        assert_eq!(ok("a gt 1.5"), cmp("a", CompareOp::Gt, json!(1.5)));
        assert_eq!(ok("a lt -1.4e+10"), cmp("a", CompareOp::Lt, json!(-1.4e10)));
        assert_eq!(ok("a le 2E3"), cmp("a", CompareOp::Le, json!(2000.0)));
        assert_eq!(ok("(a eq 1)"), eq("a", json!(1)));
        for text in [
            "a eq -",
            "a eq 1.",
            "a eq 01",
            "a eq 1e",
            "a eq --1",
            "a eq 1.2.3",
            "a eq +1",
            "a eq .5",
            "a eq 1-2",
            "a eq 1e999",
        ] {
            refused(text);
        }
    }

    #[test]
    fn literal_keywords_in_any_case() {
        assert_eq!(ok("active eq True"), eq("active", json!(true)));
        assert_eq!(ok("active eq TRUE"), eq("active", json!(true)));
        assert_eq!(ok("active eq false"), eq("active", json!(false)));
        assert_eq!(ok("active ne False"), cmp("active", CompareOp::Ne, json!(false)));
        assert_eq!(ok("title eq null"), eq("title", Value::Null));
        assert_eq!(ok("title ne NULL"), cmp("title", CompareOp::Ne, Value::Null));
        assert_eq!(ok(r#"active eq "True""#), eq("active", json!("True")), "a quoted True stays a string");
    }

    #[test]
    fn operand_types_the_rfc_refuses() {
        for text in [
            "active gt true",
            "active ge False",
            "a lt null",
            "a le null",
            "a co 1",
            "a sw true",
            "a ew null",
            r#"a eq bare"#,
            "a eq (1)",
            "a eq",
        ] {
            refused(text);
        }
        assert_eq!(ok("a gt 1"), cmp("a", CompareOp::Gt, json!(1)));
        assert_eq!(ok(r#"a co "1""#), cmp("a", CompareOp::Co, json!("1")));
    }

    // --- what identity providers and the RFC send ---------------------------------------------

    #[test]
    fn filters_identity_providers_send() {
        let cases = [
            (
                r#"userName eq "Test_User_dfeef4c5-5681-4387-b016-bdf221e82081""#,
                eq("userName", json!("Test_User_dfeef4c5-5681-4387-b016-bdf221e82081")),
            ),
            (r#"externalId eq "x""#, eq("externalId", json!("x"))),
            (r#"displayName eq "Group 1""#, eq("displayName", json!("Group 1"))),
            (
                r#"id eq "2819c223-7f76-453a-919d-413861904646""#,
                eq("id", json!("2819c223-7f76-453a-919d-413861904646")),
            ),
            (
                r#"members.value eq "2819c223-7f76-453a-919d-413861904646""#,
                eq("members.value", json!("2819c223-7f76-453a-919d-413861904646")),
            ),
            (
                r#"members[value eq "2819c223-7f76-453a-919d-413861904646"]"#,
                vp("members", eq("value", json!("2819c223-7f76-453a-919d-413861904646"))),
            ),
            (r#"emails.value eq "a@b.c""#, eq("emails.value", json!("a@b.c"))),
            (
                r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
                cmp("meta.lastModified", CompareOp::Gt, json!("2011-05-13T04:42:34Z")),
            ),
            (r#"emails[type eq "work"].value eq "x""#, Filter::Present(path("unused"))),
        ];
        for (text, expected) in &cases[..cases.len() - 1] {
            assert_eq!(&ok(text), expected, "{text}");
        }
        // The Entra PATCH form is a path, not a filter.
        refused(cases[cases.len() - 1].0);
    }

    /// Every example filter of RFC 7644 §3.4.2.2.
    const RFC_EXAMPLES: [&str; 19] = [
        r#"userName Eq "john""#,
        r#"Username eq "john""#,
        r#"userName eq "bjensen""#,
        r#"name.familyName co "O'Malley""#,
        r#"userName sw "J""#,
        r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
        r#"title pr"#,
        r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
        r#"meta.lastModified ge "2011-05-13T04:42:34Z""#,
        r#"meta.lastModified lt "2011-05-13T04:42:34Z""#,
        r#"meta.lastModified le "2011-05-13T04:42:34Z""#,
        r#"title pr and userType eq "Employee""#,
        r#"title pr or userType eq "Intern""#,
        r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
        r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
        r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
        r#"userType eq "Employee" and (emails.type eq "work")"#,
        r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
        r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
    ];

    #[test]
    fn rfc_examples_parse() {
        for text in RFC_EXAMPLES {
            ok(text);
        }
        let emails = || {
            or(
                cmp("emails", CompareOp::Co, json!("example.com")),
                cmp("emails.value", CompareOp::Co, json!("example.org")),
            )
        };
        assert_eq!(ok(RFC_EXAMPLES[14]), and(eq("userType", json!("Employee")), emails()));
        assert_eq!(ok(RFC_EXAMPLES[15]), and(cmp("userType", CompareOp::Ne, json!("Employee")), not(emails())));
        assert_eq!(ok(RFC_EXAMPLES[16]), and(eq("userType", json!("Employee")), eq("emails.type", json!("work"))));
        let work = |domain: &str| and(eq("type", json!("work")), cmp("value", CompareOp::Co, json!(domain)));
        assert_eq!(ok(RFC_EXAMPLES[17]), and(eq("userType", json!("Employee")), vp("emails", work("@example.com"))));
        let xmpp = and(eq("type", json!("xmpp")), cmp("value", CompareOp::Co, json!("@foo.com")));
        assert_eq!(ok(RFC_EXAMPLES[18]), or(vp("emails", work("@example.com")), vp("ims", xmpp)));
        assert_eq!(ok(RFC_EXAMPLES[11]), and(pr("title"), eq("userType", json!("Employee"))));
        assert_eq!(ok(RFC_EXAMPLES[12]), or(pr("title"), eq("userType", json!("Intern"))));
    }

    #[test]
    fn display_is_canonical_and_round_trips() {
        for text in RFC_EXAMPLES.iter().copied().chain([
            r#"a eq 1 or b eq 2 and c eq 3"#,
            r#"((a pr or b pr) and not (c eq "q\"uote\\") or d gt -1.5)"#,
            r#"a pr and b pr and c pr and d pr and e pr"#,
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "x""#,
            r#"emails[type eq "work" or not (primary eq TRUE)] and x eq null"#,
        ]) {
            let filter = ok(text);
            let canonical = filter.to_string();
            assert_eq!(ok(&canonical), filter, "{text} → {canonical}");
        }
        assert_eq!(ok(RFC_EXAMPLES[0]).to_string(), r#"userName eq "john""#);
        assert_eq!(ok("a eq 1 OR b eq 2 AND c eq 3").to_string(), "a eq 1 or (b eq 2 and c eq 3)");
        assert_eq!(ok("NOT(a PR)").to_string(), "not (a pr)");
    }

    // --- hostile input ------------------------------------------------------------------------

    #[test]
    fn malformed_filters_are_refused_with_a_position() {
        let cases: [(&str, &str); 24] = [
            ("", "empty"),
            ("   \t ", "empty"),
            (r#"userName eq "x"#, "unterminated string at byte 12"),
            ("userName eq", "expected a value after 'eq'"),
            (r#"eq "x""#, "expected an operator"),
            (r#"userName xx "x""#, "unknown operator 'xx' at byte 9"),
            (r#"userName eq "x" and"#, "found the end"),
            (r#"userName eq "x" or"#, "found the end"),
            (r#"(userName eq "x""#, "expected ')'"),
            (r#"userName eq "x")"#, "found ')' at byte 15"),
            (r#"emails[type eq "x""#, "expected ']'"),
            (r#"emails type eq "x"]"#, "unknown operator 'type'"),
            (r#"userName eq "x"]"#, "found ']'"),
            ("()", "found ')'"),
            ("[a pr]", "found '['"),
            (r#"userName eq 'x'"#, "single quote"),
            (r#"userName eq "x" garbage"#, "found 'garbage' at byte 16"),
            (r#"userName eq "x" "y""#, "found a string"),
            (r#"emails[type eq "work" and addr[x pr]]"#, "cannot contain another value filter"),
            (r#"emails[type eq "work"].value eq "x""#, "found '.'"),
            ("userName eq \"x\" \0", "unexpected character '\\0'"),
            ("user\0Name pr", "unexpected character '\\0'"),
            (r#"usérName eq "x""#, "unexpected character 'é' at byte 2"),
            (r#"userName eq "x" ∧ title pr"#, "unexpected character '∧' at byte 16"),
        ];
        for (text, detail) in cases {
            let problem = refused(text);
            assert!(problem.detail.contains(detail), "{text:?}: {:?} lacks {detail:?}", problem.detail);
        }
        refused("userName eq \"a\0b\"");
        refused("userName eq \"x\" and and title pr");
        refused("title pr or or title pr");
        refused("(((title pr))");
        refused("(title pr)))");
    }

    #[test]
    fn length_is_bounded() {
        let prefix = r#"userName eq ""#;
        let at_limit = format!("{prefix}{}\"", "x".repeat(MAX_FILTER_BYTES - prefix.len() - 1));
        assert_eq!(at_limit.len(), MAX_FILTER_BYTES);
        ok(&at_limit);
        let over = format!("{prefix}{}\"", "x".repeat(MAX_FILTER_BYTES - prefix.len()));
        assert!(refused(&over).detail.contains("longer than 4096 bytes"));
        assert_eq!(parse_path(&over).map_err(|e| e.scim_type), Err(Some(ScimType::InvalidPath)));
        assert!(AttrPath::parse(&"a".repeat(MAX_FILTER_BYTES + 1)).is_err());
    }

    #[test]
    fn nesting_is_bounded_before_recursing() {
        // Far over the length limit: refused for length, without any parsing.
        refused(&format!("{}title pr{}", "(".repeat(10_000), ")".repeat(10_000)));
        refused(&"not(".repeat(10_000));
        // Under the length limit: refused for depth, fast, without exhausting the stack.
        for open in ["(", "not(", "not (", "( "] {
            let text = format!("{}title pr{}", open.repeat(900), ")".repeat(900));
            let text = &text[..text.len().min(MAX_FILTER_BYTES)];
            let problem = refused(text);
            assert!(problem.detail.contains("nested deeper than 32 levels"), "{}", problem.detail);
        }
        refused(&"(".repeat(4000));
        refused(&"a[".repeat(2000));
        // Within the limit is fine.
        let nested = format!("{}title pr{}", "(".repeat(MAX_FILTER_DEPTH), ")".repeat(MAX_FILTER_DEPTH));
        assert_eq!(ok(&nested), pr("title"));
        let nots = format!("{}title pr{}", "not (".repeat(MAX_FILTER_DEPTH - 1), ")".repeat(MAX_FILTER_DEPTH - 1));
        assert_eq!(ok(&nots).depth(), MAX_FILTER_DEPTH);
        let too_many_nots = format!("{}title pr{}", "not (".repeat(MAX_FILTER_DEPTH), ")".repeat(MAX_FILTER_DEPTH));
        refused(&too_many_nots);
        // A tree deeper than the limit without deep parentheses: `a and (b or (c and (…)))`.
        let mut deep = "z pr".to_string();
        for i in 0..20 {
            deep = format!("a{i} pr {} ({deep})", if i % 2 == 0 { "and" } else { "or" });
        }
        assert!(ok(&deep).depth() <= MAX_FILTER_DEPTH);
        let mut deeper = "z pr".to_string();
        for _ in 0..MAX_FILTER_DEPTH {
            deeper = format!("a pr and ({deeper})");
        }
        assert!(refused(&deeper).detail.contains("nested deeper"));
    }

    #[test]
    fn no_panic_on_any_prefix_or_insertion() {
        let samples = RFC_EXAMPLES.iter().copied().chain([
            r#"emails[type eq "wörk" and value co "@ex\u00e9.com"].value"#,
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "日本""#,
            r#"not (a eq -1.5e3) or b eq null"#,
        ]);
        let inserts = ["\"", "\\", "(", ")", "[", "]", ".", ":", "é", "\0", " ", "not(", "-", "'", "$", "e"];
        for text in samples {
            for (at, _) in text.char_indices().chain([(text.len(), ' ')]) {
                let _ = parse_filter(&text[..at]);
                let _ = parse_path(&text[..at]);
                let _ = AttrPath::parse(&text[..at]);
                for insert in inserts {
                    let mutated = format!("{}{insert}{}", &text[..at], &text[at..]);
                    let _ = parse_filter(&mutated);
                    let _ = parse_path(&mutated);
                }
            }
        }
    }

    // --- PATCH paths --------------------------------------------------------------------------

    #[test]
    fn rfc_and_entra_patch_paths() {
        let member = "2819c223-7f76-453a-919d-413861904646";
        assert_eq!(path_ok("members"), PatchPath { attr: path("members"), filter: None, sub: None });
        assert_eq!(path_ok("name.familyName"), PatchPath { attr: path("name.familyName"), filter: None, sub: None });
        assert_eq!(
            path_ok(r#"addresses[type eq "work"]"#),
            PatchPath { attr: path("addresses"), filter: Some(eq("type", json!("work"))), sub: None }
        );
        assert_eq!(
            path_ok(&format!(r#"members[value eq "{member}"]"#)),
            PatchPath { attr: path("members"), filter: Some(eq("value", json!(member))), sub: None }
        );
        assert_eq!(
            path_ok(&format!(r#"members[value eq "{member}"].displayName"#)),
            PatchPath {
                attr: path("members"),
                filter: Some(eq("value", json!(member))),
                sub: Some("displayName".into())
            }
        );
        assert_eq!(
            path_ok(r#"emails[type eq "work" and value ew "example.com"]"#).filter,
            Some(and(eq("type", json!("work")), cmp("value", CompareOp::Ew, json!("example.com"))))
        );
        assert_eq!(path_ok(r#"addresses[type eq "work"].streetAddress"#).sub.as_deref(), Some("streetAddress"));
        assert_eq!(
            path_ok(r#"emails[type eq "work"].value"#),
            PatchPath { attr: path("emails"), filter: Some(eq("type", json!("work"))), sub: Some("value".into()) }
        );
        assert_eq!(path_ok(r#"Emails[Type EQ "work"] . Value"#).sub.as_deref(), Some("Value"));
    }

    #[test]
    fn schema_qualified_patch_paths() {
        let manager = path_ok(&format!("{ENTERPRISE}:manager"));
        assert_eq!(manager.attr, AttrPath { urn: Some(ENTERPRISE.into()), name: "manager".into(), sub: None });
        let manager_value = path_ok(&format!("{ENTERPRISE}:manager.value"));
        assert_eq!(manager_value.attr.sub.as_deref(), Some("value"));
        let core = path_ok("urn:ietf:params:scim:schemas:core:2.0:User:name.givenName");
        assert_eq!(core.attr.urn.as_deref(), Some("urn:ietf:params:scim:schemas:core:2.0:User"));
        assert_eq!(core.attr.extension_urn(), None);
        let emails = path_ok(r#"urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq "work"].value"#);
        assert_eq!(emails.attr.name, "emails");
        assert_eq!(emails.sub.as_deref(), Some("value"));
        let whole = path_ok(ENTERPRISE);
        assert!(whole.attr.is_schema_urn());
        assert_eq!(whole.attr.name, ENTERPRISE);
    }

    #[test]
    fn malformed_patch_paths() {
        let structure = [
            "",
            "  ",
            "emails[type eq \"work\"].",
            "emails[type eq \"work\"]value",
            "emails[type eq \"work\"].value.display",
            "emails[type eq \"work\"].urn:x:y",
            "emails[type eq \"work\"][type eq \"home\"]",
            "name.familyName[type eq \"x\"]",
            "emails[type eq \"work\"",
            "emails]",
            "a b",
            "emails pr",
            "emails[type eq \"work\"] and x pr",
            "(emails)",
            "1emails",
            "emails.",
            "emails..value",
            "em'ails",
            "urn:x",
        ];
        for text in structure {
            path_refused(text, ScimType::InvalidPath);
        }
        path_refused(&format!("{ENTERPRISE}[value pr]"), ScimType::InvalidPath);
        let filter_errors = [
            "emails[type eq]",
            "emails[type xx \"work\"]",
            "emails[]",
            "emails[type eq 'work']",
            "emails[type eq \"work]",
            "emails[addr[x pr]]",
            "emails[type eq \"work\" and]",
            "emails[active gt true]",
        ];
        for text in filter_errors {
            path_refused(text, ScimType::InvalidFilter);
        }
    }

    #[test]
    fn patch_path_display_round_trips() {
        for text in [
            "members",
            "name.familyName",
            r#"members[value eq "x"].displayName"#,
            r#"emails[type eq "work" and (value ew "a" or primary eq true)].value"#,
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
            ENTERPRISE,
        ] {
            let parsed = path_ok(text);
            assert_eq!(path_ok(&parsed.to_string()), parsed, "{text}");
        }
        assert_eq!(path_ok(r#"emails[Type EQ "work"].value"#).to_string(), r#"emails[Type eq "work"].value"#);
    }
}
