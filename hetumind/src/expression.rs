//! Expressions in node parameters: jq, as implemented by [jaq](https://github.com/01mf02/jaq).
//!
//! A string in a node instance's `parameters` that starts with `{%` and ends with `%}` is an
//! expression; every other string is taken as it is. The expression's value replaces the string
//! before the parameters are deserialized into the node's type, so it may be of any JSON type:
//! `"limit": "{% .count + 1 %}"` gives a number. An each-item node evaluates its parameters'
//! expressions for every item, an all-items node once.
//!
//! What an expression reads:
//!
//! | | |
//! |---|---|
//! | `.` | the current item's `json` (an all-items node: its first item's, `null` without items) |
//! | `$execution` | `{"id": ..., "started_at": ...}`: the execution, and when it was created |
//! | `$workflow` | `{"id": ..., "name": ...}` |
//! | `$now` | the time the node's attempt evaluates its parameters, RFC 3339 in UTC |
//! | `node("Name")` | the `json` of the item of node `Name` that the current item derives from |
//! | `node_items("Name")` | the `json` of every item on node `Name`'s first output, as an array |
//! | `secret("name")` | the secret `name`, a string (see [`secrets`](crate::secrets)) |
//! | `resume_url("Name")` | the address at which a signal resumes node `Name` of this execution (see [`resume`](crate::resume)) |
//!
//! with the whole jq language and jaq's standard library: `"{% "Hello \(.name)" %}"` interpolates,
//! `"{% .tags | join(", ") %}"` joins, `"{% .email // "unknown" %}"` falls back.
//!
//! `node` follows the current item's lineage ([`ItemSource`]) back, node by node, to the item of
//! `Name` it comes from. When the lineage leads elsewhere (the item came from another branch, or
//! a node made it from all its input at once) and `Name` has exactly one item on its first
//! output, that item is the one; otherwise the expression fails and says to use `node_items`.
//! Node and secret names are written literally (`node("Fetch user")`, not `node(.which)`), so
//! that validation checks them and the engine fetches what a node reads before it runs: a node
//! read must run before the node reading it (a path of connections leads from one to the other).
//!
//! An expression that yields no value gives `null`; one that yields several is an error (collect
//! them with `[...]`). Errors name the parameter, the item and the expression. Validation
//! compiles every expression before anything runs, so a syntax error, an unknown function or an
//! unknown variable is reported with its JSON path.
//!
//! Why jq (jaq) rather than JSONata, which Step Functions uses: jaq implements nearly all of
//! jq and is fast, while the Rust implementations of JSONata are partial. A plain field path
//! (`.a`, `.a.b_c`) is read directly from the item, without the interpreter.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use chrono::{DateTime, SecondsFormat, Utc};
use jaq_core::compile::Undefined;
use jaq_core::data::HasLut;
use jaq_core::load::lex::{Lexer, StrPart, Tok, Token};
use jaq_core::load::{Arena, File, Loader};
use jaq_core::native::{self, Fun};
use jaq_core::{Compiler, Ctx, Cv, DataT, Native, ValXs, Vars, unwrap_valr};
use jaq_json::{Num, Val};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};

use crate::limits::MAX_JSON_DEPTH;
use crate::model::{ItemData, ItemSource};
use crate::secrets::Secret;

/// The variables every expression may read, in the order [`Scope`] binds them.
const VARIABLES: [&str; 3] = ["$execution", "$workflow", "$now"];

/// How many compiled expressions a process keeps for reuse (a warm Lambda function plans the
/// same workflows again and again).
const CACHE_CAPACITY: usize = 1024;

/// What expressions run on: jaq's JSON values, with an [`Env`] for the functions that read
/// beyond the item.
struct Data;

impl DataT for Data {
    type V<'a> = Val;
    type Data<'a> = &'a Env<'a>;
}

/// What `node`, `node_items` and `secret` read while an expression runs.
struct Env<'a> {
    lut: &'a jaq_core::Lut<Data>,
    execution: &'a ExecutionInfo,
    lookups: &'a Lookups,
    /// The lineage of the item the expression is evaluated on.
    source: Option<&'a ItemSource>,
}

impl<'a> HasLut<'a, Data> for &'a Env<'a> {
    fn lut(&self) -> &'a jaq_core::Lut<Data> {
        self.lut
    }
}

type Filter = jaq_core::Filter<Data>;

/// The code of `text` when it is an expression (`{% code %}`), else `None`.
#[must_use]
pub fn code_of(text: &str) -> Option<&str> {
    text.strip_prefix("{%")?.strip_suffix("%}")
}

/// A compiled expression.
#[derive(Clone)]
pub struct Expression {
    /// The text as written, `{%` and `%}` included.
    source: Arc<str>,
    /// For a plain field path (`.a.b`), its fields: read directly from objects.
    path: Option<Box<[Box<str>]>>,
    compiled: Arc<Compiled>,
}

/// An expression's code compiled, and what it names.
struct Compiled {
    filter: Filter,
    references: References,
}

/// The earlier nodes, the secrets and the resume addresses that expressions name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct References {
    /// The nodes read with `node` or `node_items`.
    pub nodes: BTreeSet<Arc<str>>,
    /// The secrets read with `secret`.
    pub secrets: BTreeSet<Arc<str>>,
    /// The nodes whose resume address `resume_url` gives (nothing to fetch for those).
    pub resumes: BTreeSet<Arc<str>>,
}

impl References {
    /// Whether nothing is to be fetched before the node runs: no node, no secret.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty() && self.secrets.is_empty()
    }

    fn extend(&mut self, other: &Self) {
        self.nodes.extend(other.nodes.iter().cloned());
        self.secrets.extend(other.secrets.iter().cloned());
        self.resumes.extend(other.resumes.iter().cloned());
    }
}

impl fmt::Debug for Expression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Expression").field(&self.source).finish()
    }
}

impl Expression {
    /// Compiles `source`, an expression with its `{%` and `%}`.
    ///
    /// # Errors
    ///
    /// When `source` is no expression, or its code does not compile: the message says what and
    /// where.
    pub fn compile(source: &str) -> Result<Self, String> {
        let code = code_of(source)
            .ok_or_else(|| format!("`{source}` is not an expression: write `{{% code %}}`"))?;
        if code.trim().is_empty() {
            return Err("empty expression: write jq code between `{%` and `%}`".to_owned());
        }
        Ok(Self {
            source: Arc::from(source),
            path: field_path(code),
            compiled: compiled(code)?,
        })
    }

    /// The expression as written.
    #[must_use]
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The nodes and secrets the expression names.
    #[must_use]
    pub fn references(&self) -> &References {
        &self.compiled.references
    }

    /// Evaluates the expression on `item` in `scope`.
    ///
    /// # Errors
    ///
    /// The interpreter's error, or that the expression yields more than one value.
    pub fn evaluate(&self, item: &ItemData, scope: &Scope<'_>) -> Result<Value, String> {
        if let Some(path) = &self.path
            && let Some(value) = read_path(&item.json, path)
        {
            return Ok(value.clone());
        }
        let input = Val::deserialize(&item.json).map_err(|error| error.to_string())?;
        let filter = &self.compiled.filter;
        let env = Env {
            lut: &filter.lut,
            execution: scope.execution,
            lookups: scope.lookups,
            source: item.source.as_ref(),
        };
        let ctx = Ctx::<Data>::new(&env, Vars::new(scope.variables()));
        let mut values = filter.id.run((ctx, input)).map(unwrap_valr);
        let first = match values.next() {
            None => return Ok(Value::Null),
            Some(value) => value.map_err(describe_error)?,
        };
        if values.next().is_some() {
            return Err(
                "it yields more than one value: collect them into an array with `[...]`".to_owned(),
            );
        }
        to_json(&first, 0)
    }
}

/// A jq error as text: a string thrown (by `error("...")` or this crate's functions) as it
/// is, any other value as JSON.
fn describe_error(error: jaq_core::Error<Val>) -> String {
    match error.into_val() {
        Val::TStr(bytes) | Val::BStr(bytes) => text(&bytes),
        other => other.to_string(),
    }
}

/// The fields of a plain field path such as `.a.b_c` (no spaces, identifiers only).
fn field_path(code: &str) -> Option<Box<[Box<str>]>> {
    let fields = code.trim().strip_prefix('.')?;
    fields
        .split('.')
        .all(is_identifier)
        .then(|| fields.split('.').map(Box::from).collect())
}

/// Whether `text` is a jq identifier: `.text` reads field `text`.
fn is_identifier(text: &str) -> bool {
    let mut chars = text.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `path` read from `value` as jq does, while every step is an object or `null` (a missing
/// field and `null` give `null`); `None` when a step is anything else, for the interpreter to
/// report.
fn read_path<'v>(mut value: &'v Value, path: &[Box<str>]) -> Option<&'v Value> {
    static NULL: Value = Value::Null;
    for field in path {
        value = match value {
            Value::Object(fields) => fields.get(&**field).unwrap_or(&NULL),
            Value::Null => &NULL,
            _ => return None,
        };
    }
    Some(value)
}

/// `code` compiled, from the process's cache when it was compiled before.
fn compiled(code: &str) -> Result<Arc<Compiled>, String> {
    static CACHE: OnceLock<Mutex<HashMap<Box<str>, Arc<Compiled>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Mutex::default);
    if let Some(compiled) = cache
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(code)
    {
        return Ok(Arc::clone(compiled));
    }
    let compiled = Arc::new(Compiled {
        filter: compile(code)?,
        references: references(code)?,
    });
    let mut cache = cache.lock().unwrap_or_else(PoisonError::into_inner);
    if cache.len() >= CACHE_CAPACITY {
        cache.clear();
    }
    cache.insert(Box::from(code), Arc::clone(&compiled));
    Ok(compiled)
}

/// Compiles `code` with jaq's standard library, the [`VARIABLES`] and this crate's
/// [`functions`].
fn compile(code: &str) -> Result<Filter, String> {
    let loader = Loader::new(
        jaq_core::defs()
            .chain(jaq_std::defs())
            .chain(jaq_json::defs()),
    );
    let arena = Arena::default();
    let modules = loader
        .load(&arena, File { code, path: () })
        .map_err(|errors| describe_load_errors(code, &errors))?;
    Compiler::default()
        .with_funs(
            jaq_core::funs()
                .chain(jaq_std::funs())
                .chain(jaq_json::funs())
                .chain(functions()),
        )
        .with_global_vars(VARIABLES)
        .compile(modules)
        .map_err(|errors| {
            let problems: Vec<String> = errors
                .iter()
                .flat_map(|(_, undefined)| undefined)
                .map(|(name, what)| match what {
                    Undefined::Filter(arity) => format!("undefined filter `{name}/{arity}`"),
                    other => format!("undefined {} `{name}`", other.as_str()),
                })
                .collect();
            problems.join("; ")
        })
}

/// The functions this crate adds to jq, each of one name: `node(name)`, the item of node
/// `name` the current item derives from; `node_items(name)`, every item on node `name`'s first
/// output; `secret(name)`, the secret `name`; `resume_url(name)`, the address at which a
/// signal resumes node `name`.
fn functions() -> [Fun<Data>; 4] {
    [
        (
            "node",
            native::v(1),
            Native::new(|cv| {
                by_name(cv, |env, name| {
                    let json = env.lookups.paired(name, env.source)?;
                    Val::deserialize(json).map_err(|error| error.to_string())
                })
            }),
        ),
        (
            "node_items",
            native::v(1),
            Native::new(|cv| {
                by_name(cv, |env, name| {
                    let values: Vec<Val> = env
                        .lookups
                        .items(name)?
                        .iter()
                        .map(|item| Val::deserialize(&item.json).map_err(|error| error.to_string()))
                        .collect::<Result<_, _>>()?;
                    Ok(Val::Arr(values.into()))
                })
            }),
        ),
        (
            "secret",
            native::v(1),
            Native::new(|cv| {
                by_name(cv, |env, name| {
                    env.lookups
                        .secrets
                        .get(name)
                        .map(|secret| Val::utf8_str(secret.expose().as_bytes().to_vec()))
                        .ok_or_else(|| format!("secret `{name}` was not fetched"))
                })
            }),
        ),
        (
            "resume_url",
            native::v(1),
            Native::new(|cv| {
                by_name(cv, |env, name| {
                    let url = env.execution.resume_url(name)?;
                    Ok(Val::utf8_str(url.into_bytes()))
                })
            }),
        ),
    ]
}

/// A function of one name: `read` on it.
fn by_name<'a>(
    mut cv: Cv<'a, Data>,
    read: impl FnOnce(&Env<'a>, &str) -> Result<Val, String>,
) -> ValXs<'a, Val> {
    let name = cv.0.pop_var();
    let env: &Env<'a> = cv.0.data();
    let result = match &name {
        Val::TStr(bytes) => read(env, &text(bytes)),
        other => Err(format!("a name must be a string, not {other}")),
    };
    native::bome(result.map_err(jaq_core::Error::str))
}

/// The names `code` reads with `node`, `node_items`, `secret` and `resume_url`: each must be
/// one literal string (the engine fetches what a node reads before it runs, and validation
/// checks the nodes named exist).
fn references(code: &str) -> Result<References, String> {
    let mut found = References::default();
    let mut problems = Vec::new();
    // The code compiled, so it lexes.
    if let Ok(tokens) = Lexer::new(code).lex() {
        find_references(&tokens, &mut found, &mut problems);
    }
    if problems.is_empty() {
        Ok(found)
    } else {
        Err(problems.join("; "))
    }
}

fn find_references(tokens: &[Token<&str>], found: &mut References, problems: &mut Vec<String>) {
    for (index, Token(text, token)) in tokens.iter().enumerate() {
        match token {
            Tok::Word if matches!(*text, "node" | "node_items" | "secret" | "resume_url") => {
                let Some(Token(open, Tok::Block(arguments))) = tokens.get(index + 1) else {
                    continue;
                };
                if !open.starts_with('(') {
                    continue;
                }
                match literal(arguments) {
                    Some(name) if *text == "secret" => {
                        found.secrets.insert(Arc::from(name));
                    }
                    Some(name) if *text == "resume_url" => {
                        found.resumes.insert(Arc::from(name));
                    }
                    Some(name) => {
                        found.nodes.insert(Arc::from(name));
                    }
                    None => problems.push(format!(
                        "`{text}` takes a name written as one literal string, like {text}(\"Name\"), not `{text}{open}`"
                    )),
                }
            }
            Tok::Block(inner) => find_references(inner, found, problems),
            Tok::Str(parts) => {
                for part in parts {
                    if let StrPart::Term(Token(_, Tok::Block(inner))) = part {
                        find_references(inner, found, problems);
                    }
                }
            }
            _ => {}
        }
    }
}

/// The text of `arguments` (a block's tokens, its closing delimiter last) when they are one
/// string without interpolation.
fn literal(arguments: &[Token<&str>]) -> Option<String> {
    let [Token(_, Tok::Str(parts)), Token(_, Tok::Sym)] = arguments else {
        return None;
    };
    let mut text = String::new();
    for part in parts {
        match part {
            StrPart::Str(piece) => text.push_str(piece),
            StrPart::Char(c) => text.push(*c),
            StrPart::Term(_) => return None,
        }
    }
    Some(text)
}

/// The lexer's and parser's errors, each with where in `code` it is.
fn describe_load_errors<P>(code: &str, errors: &jaq_core::load::Errors<&str, P>) -> String {
    use jaq_core::load::Error;
    let mut problems = Vec::new();
    for (_, error) in errors {
        match error {
            Error::Io(io) => {
                for (path, error) in io {
                    problems.push(format!("{path}: {error}"));
                }
            }
            // The lexer's and the parser's `Expect` are two types, both with `as_str`.
            Error::Lex(lex) => {
                for (expected, found) in lex {
                    problems.push(format!(
                        "expected {} {}",
                        expected.as_str(),
                        at(code, found)
                    ));
                }
            }
            Error::Parse(parse) => {
                for (expected, found) in parse {
                    problems.push(format!(
                        "expected {} {}",
                        expected.as_str(),
                        at(code, found)
                    ));
                }
            }
        }
    }
    problems.join("; ")
}

/// Where `part`, a slice of `code`, is in it: `at character N` (counting from 1), or `at the
/// end`.
fn at(code: &str, part: &str) -> String {
    if part.is_empty() {
        return "at the end".to_owned();
    }
    let start = jaq_core::load::span(code, part).start;
    let characters = code
        .get(..start)
        .map_or(start, |before| before.chars().count());
    format!("at character {}", characters + 1)
}

/// `value` as JSON; `Err` past [`MAX_JSON_DEPTH`] levels of nesting or for a non-finite number
/// (JSON has none).
fn to_json(value: &Val, depth: usize) -> Result<Value, String> {
    if depth > MAX_JSON_DEPTH {
        return Err(format!(
            "its value nests deeper than {MAX_JSON_DEPTH} levels"
        ));
    }
    Ok(match value {
        Val::Null => Value::Null,
        Val::Bool(flag) => Value::Bool(*flag),
        Val::Num(number) => Value::Number(to_number(number)?),
        Val::TStr(bytes) | Val::BStr(bytes) => Value::String(text(bytes)),
        Val::Arr(values) => Value::Array(
            values
                .iter()
                .map(|value| to_json(value, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        Val::Obj(fields) => {
            let mut object = Map::new();
            for (key, value) in fields.iter() {
                let key = match key {
                    Val::TStr(bytes) | Val::BStr(bytes) => text(bytes),
                    other => other.to_string(),
                };
                object.insert(key, to_json(value, depth + 1)?);
            }
            Value::Object(object)
        }
    })
}

/// A jq number as a JSON number.
fn to_number(number: &Num) -> Result<Number, String> {
    let not_finite = || "its value is not a finite number, which JSON cannot hold".to_owned();
    match number {
        Num::Int(int) => Ok(Number::from(*int as i64)),
        Num::Float(float) => Number::from_f64(*float).ok_or_else(not_finite),
        Num::BigInt(_) | Num::Dec(_) => {
            let text = number.to_string();
            text.parse::<Number>().or_else(|_| {
                text.parse::<f64>()
                    .ok()
                    .and_then(Number::from_f64)
                    .ok_or_else(not_finite)
            })
        }
    }
}

/// Bytes of a jq string as text (invalid UTF-8 replaced).
fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `schema`, the JSON Schema of a node's parameters, saying where an expression may stand:
/// every property, map value and array element also accepts an expression string (defined as
/// `$defs/Expression`).
#[must_use]
pub fn accepting_expressions(mut schema: schemars::Schema) -> schemars::Schema {
    if let Some(root) = schema.as_object_mut() {
        open_to_expressions(root);
        let defs = root
            .entry("$defs")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(defs) = defs {
            defs.insert(
                "Expression".to_owned(),
                serde_json::json!({
                    "description": "A jq expression, evaluated per item (once for a node that takes all items at once) before the parameters are read: its value, of any JSON type, replaces the string. `.` is the item's json; `$execution`, `$workflow` and `$now` are also defined, and `node(\"Name\")`, `node_items(\"Name\")`, `secret(\"name\")` and `resume_url(\"Name\")` read an earlier node's paired item, all its items, a secret, and the address at which a signal resumes a node.",
                    "type": "string",
                    "pattern": "^\\{%[\\s\\S]*%\\}$"
                }),
            );
        }
    }
    schema
}

/// Wraps every property, map value and array element schema under `schema` (see
/// [`accepting_expressions`]).
fn open_to_expressions(schema: &mut Map<String, Value>) {
    if let Some(Value::Object(properties)) = schema.get_mut("properties") {
        properties.values_mut().for_each(or_expression);
    }
    for key in ["additionalProperties", "items"] {
        if let Some(inner) = schema.get_mut(key) {
            or_expression(inner);
        }
    }
    if let Some(Value::Object(defs)) = schema.get_mut("$defs") {
        defs.values_mut().for_each(open_inner);
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(Value::Array(variants)) = schema.get_mut(key) {
            variants.iter_mut().for_each(open_inner);
        }
    }
}

/// [`open_to_expressions`] on `schema` when it is an object (`true` and `false` hold nothing).
fn open_inner(schema: &mut Value) {
    if let Value::Object(schema) = schema {
        open_to_expressions(schema);
    }
}

/// `schema` (its own inner schemas opened first), or an expression; its annotations stay
/// outside.
fn or_expression(schema: &mut Value) {
    let Value::Object(inner) = schema else {
        return;
    };
    open_to_expressions(inner);
    let mut outer = Map::new();
    for annotation in ["title", "description", "default", "examples", "deprecated"] {
        if let Some(value) = inner.remove(annotation) {
            outer.insert(annotation.to_owned(), value);
        }
    }
    let inner = std::mem::take(inner);
    outer.insert(
        "anyOf".to_owned(),
        serde_json::json!([inner, { "$ref": "#/$defs/Expression" }]),
    );
    *schema = Value::Object(outer);
}

/// The facts of an execution that expressions read as `$execution` and `$workflow`, and that a
/// node reads through [`Ctx`](crate::Ctx).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutionInfo {
    /// The execution's identifier.
    pub id: Arc<str>,
    /// When the execution was created.
    pub started_at: DateTime<Utc>,
    /// The identifier of the workflow it runs.
    pub workflow_id: Arc<str>,
    /// The workflow's name (empty when it has none).
    pub workflow_name: Arc<str>,
    /// The execution's resume key (see [`resume`](crate::resume)); absent for an execution
    /// created before resume keys existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume_key: Option<Arc<str>>,
    /// The base of resume addresses: the function's public URL (`HETUMIND_PUBLIC_URL`), empty
    /// for addresses that are paths alone. Set where the node runs, never carried along.
    #[serde(skip)]
    pub public_url: Arc<str>,
    /// The execution's OpenTelemetry trace (see
    /// [`ExecutionState::trace`](crate::model::ExecutionState::trace)), for the spans of a
    /// worker's node run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<crate::model::ExecutionTrace>,
}

impl ExecutionInfo {
    /// An execution `id` created now, of a workflow known by neither id nor name (tests).
    #[must_use]
    pub fn new(id: impl Into<Arc<str>>) -> Self {
        Self {
            id: id.into(),
            started_at: Utc::now(),
            workflow_id: Arc::from(""),
            workflow_name: Arc::from(""),
            resume_key: None,
            public_url: Arc::from(""),
            trace: None,
        }
    }

    /// The address at which a signal resumes node `node` of this execution (see
    /// [`resume`](crate::resume)).
    ///
    /// # Errors
    ///
    /// When the execution has no resume key (it was created before they existed).
    pub fn resume_url(&self, node: &str) -> Result<String, String> {
        let key = self.resume_key.as_deref().ok_or_else(|| {
            format!(
                "execution `{}` has no resume key (it was created by an older version): its nodes have no resume address",
                self.id
            )
        })?;
        let token = crate::resume::token(key, &self.id, node);
        Ok(crate::resume::address(
            &self.public_url,
            &self.id,
            node,
            &token,
        ))
    }
}

/// What one node attempt's expressions read besides the item: made once per attempt, its
/// variables built on first use.
pub struct Scope<'a> {
    execution: &'a ExecutionInfo,
    now: DateTime<Utc>,
    lookups: &'a Lookups,
    variables: OnceLock<[Val; 3]>,
}

impl<'a> Scope<'a> {
    /// The scope of an attempt of `execution` evaluating its parameters at `now`, reading no
    /// other node and no secret.
    #[must_use]
    pub fn new(execution: &'a ExecutionInfo, now: DateTime<Utc>) -> Self {
        Self {
            execution,
            now,
            lookups: Lookups::none(),
            variables: OnceLock::new(),
        }
    }

    /// The scope reading the nodes and secrets in `lookups`.
    #[must_use]
    pub fn with_lookups(self, lookups: &'a Lookups) -> Self {
        Self { lookups, ..self }
    }

    /// The values of [`VARIABLES`], in order.
    fn variables(&self) -> [Val; 3] {
        self.variables
            .get_or_init(|| {
                let string = |text: &str| Val::utf8_str(text.as_bytes().to_vec());
                let time =
                    |at: DateTime<Utc>| string(&at.to_rfc3339_opts(SecondsFormat::Millis, true));
                let object = |fields: [(&str, Val); 2]| {
                    Val::obj(
                        fields
                            .into_iter()
                            .map(|(key, value)| (string(key), value))
                            .collect(),
                    )
                };
                [
                    object([
                        ("id", string(&self.execution.id)),
                        ("started_at", time(self.execution.started_at)),
                    ]),
                    object([
                        ("id", string(&self.execution.workflow_id)),
                        ("name", string(&self.execution.workflow_name)),
                    ]),
                    time(self.now),
                ]
            })
            .clone()
    }
}

/// What a node's expressions read besides the item and the execution, fetched before the node
/// runs: the outputs of the nodes they name (and of the nodes in between, whose items' lineage
/// pairs items), and the secrets they name.
#[derive(Debug, Clone, Default)]
pub struct Lookups {
    outputs: BTreeMap<Arc<str>, Vec<Vec<ItemData>>>,
    secrets: BTreeMap<Arc<str>, Secret>,
}

impl Lookups {
    /// Nothing to read.
    #[must_use]
    pub fn none() -> &'static Self {
        static NONE: Lookups = Lookups {
            outputs: BTreeMap::new(),
            secrets: BTreeMap::new(),
        };
        &NONE
    }

    /// Adds the stored output of node `node`: its items, one list per output.
    pub fn add_output(&mut self, node: Arc<str>, outputs: Vec<Vec<ItemData>>) {
        self.outputs.insert(node, outputs);
    }

    /// Adds secret `name`.
    pub fn add_secret(&mut self, name: Arc<str>, value: Secret) {
        self.secrets.insert(name, value);
    }

    /// The secrets, which must not leave the node run (see [`secrets`](crate::secrets)).
    pub fn secrets(&self) -> impl Iterator<Item = &Secret> {
        self.secrets.values()
    }

    /// The items on node `name`'s first output.
    fn items(&self, name: &str) -> Result<&[ItemData], String> {
        self.outputs
            .get(name)
            .map(|outputs| outputs.first().map_or(&[][..], Vec::as_slice))
            .ok_or_else(|| format!("node `{name}` has no output in this execution"))
    }

    /// The `json` of the item of node `name` that an item of lineage `source` derives from
    /// (see the [module docs](self)).
    fn paired<'s>(
        &'s self,
        name: &str,
        mut source: Option<&'s ItemSource>,
    ) -> Result<&'s Value, String> {
        let items = self.items(name)?;
        // Each step leaves a node for an earlier one: as many steps as nodes at most, even
        // for lineage a stored output could make circular.
        for _ in 0..=self.outputs.len() {
            let Some(at) = source else { break };
            let Some(item) = self.outputs.get(&at.node).and_then(|outputs| {
                let items = outputs.get(usize::try_from(at.output_index).ok()?)?;
                items.get(usize::try_from(at.item_index).ok()?)
            }) else {
                break;
            };
            if *at.node == *name {
                return Ok(&item.json);
            }
            source = item.source.as_ref();
        }
        match items {
            [only] => Ok(&only.json),
            _ => Err(format!(
                "the item does not derive from an item of node `{name}`, which has {} items: read them all with node_items(\"{name}\")",
                items.len()
            )),
        }
    }
}

/// A node instance's parameters, with the expressions in them compiled.
///
/// It serializes as the parameters as written.
#[derive(Debug, Clone)]
pub struct Parameters {
    value: Value,
    expressions: Box<[Placed]>,
    references: References,
}

/// The expressions of some parameters that do not compile: for each, the JSON path of its
/// string in the parameters (such as `.headers[0].value`) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct InvalidExpressions(pub Vec<(String, String)>);

impl fmt::Display for InvalidExpressions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, (path, message)) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str("; ")?;
            }
            write!(f, "parameter `{path}`: {message}")?;
        }
        Ok(())
    }
}

/// An expression and where it stands in the parameters.
#[derive(Debug, Clone)]
struct Placed {
    path: Box<[Step]>,
    expression: Expression,
}

/// One step of a path into the parameters.
#[derive(Debug, Clone)]
enum Step {
    Field(Box<str>),
    Index(usize),
}

impl Parameters {
    /// Parameters as written, their expressions compiled.
    ///
    /// # Errors
    ///
    /// Every expression that does not compile, each with the JSON path of its string.
    pub fn new(value: Value) -> Result<Self, InvalidExpressions> {
        let mut expressions = Vec::new();
        let mut problems = Vec::new();
        let mut path = Vec::new();
        find_expressions(&value, &mut path, &mut expressions, &mut problems);
        if problems.is_empty() {
            let mut references = References::default();
            for placed in &expressions {
                references.extend(placed.expression.references());
            }
            Ok(Self {
                value,
                expressions: expressions.into_boxed_slice(),
                references,
            })
        } else {
            Err(InvalidExpressions(problems))
        }
    }

    /// Parameters whose strings are all taken as they are, none as an expression.
    #[must_use]
    pub fn plain(value: Value) -> Self {
        Self {
            value,
            expressions: Box::default(),
            references: References::default(),
        }
    }

    /// The parameters as written.
    #[must_use]
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// Whether any parameter is an expression.
    #[must_use]
    pub fn has_expressions(&self) -> bool {
        !self.expressions.is_empty()
    }

    /// The nodes and secrets the expressions name.
    #[must_use]
    pub fn references(&self) -> &References {
        &self.references
    }

    /// The parameters with each expression replaced by its value on `item` in `scope`
    /// (borrowed as written when there are none).
    ///
    /// # Errors
    ///
    /// The first expression that fails: its path, the expression, and why.
    pub fn resolve(&self, item: &ItemData, scope: &Scope<'_>) -> Result<Cow<'_, Value>, String> {
        if self.expressions.is_empty() {
            return Ok(Cow::Borrowed(&self.value));
        }
        let mut resolved = self.value.clone();
        for placed in &self.expressions {
            let value = placed.expression.evaluate(item, scope).map_err(|error| {
                format!(
                    "parameter `{}`: expression `{}` failed: {error}",
                    display_path(&placed.path),
                    placed.expression.source()
                )
            })?;
            if let Some(slot) = slot(&mut resolved, &placed.path) {
                *slot = value;
            }
        }
        Ok(Cow::Owned(resolved))
    }
}

/// Collects the expressions in `value` (at `path`), and the problems of those that do not
/// compile.
fn find_expressions(
    value: &Value,
    path: &mut Vec<Step>,
    expressions: &mut Vec<Placed>,
    problems: &mut Vec<(String, String)>,
) {
    match value {
        Value::String(text) if code_of(text).is_some() => match Expression::compile(text) {
            Ok(expression) => expressions.push(Placed {
                path: path.clone().into_boxed_slice(),
                expression,
            }),
            Err(message) => problems.push((display_path(path), message)),
        },
        Value::Array(values) => {
            for (index, value) in values.iter().enumerate() {
                path.push(Step::Index(index));
                find_expressions(value, path, expressions, problems);
                path.pop();
            }
        }
        Value::Object(fields) => {
            for (key, value) in fields {
                path.push(Step::Field(Box::from(key.as_str())));
                find_expressions(value, path, expressions, problems);
                path.pop();
            }
        }
        _ => {}
    }
}

/// The value at `path` in `value`.
fn slot<'v>(value: &'v mut Value, path: &[Step]) -> Option<&'v mut Value> {
    path.iter().try_fold(value, |value, step| match step {
        Step::Field(key) => value.get_mut(&**key),
        Step::Index(index) => value.get_mut(*index),
    })
}

/// `path` as a JSON path: `.a.b[0]`, a key that is not an identifier quoted (`["a b"]`).
fn display_path(path: &[Step]) -> String {
    let mut text = String::new();
    for step in path {
        match step {
            Step::Field(key) if is_identifier(key) => {
                text.push('.');
                text.push_str(key);
            }
            Step::Field(key) => {
                text.push('[');
                text.push_str(&Value::String(key.to_string()).to_string());
                text.push(']');
            }
            Step::Index(index) => text.push_str(&format!("[{index}]")),
        }
    }
    text
}

impl Serialize for Parameters {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Parameters {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Self::new(value).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use chrono::TimeZone;
    use serde_json::json;

    use super::*;

    fn execution() -> ExecutionInfo {
        ExecutionInfo {
            id: Arc::from("exec-1"),
            started_at: Utc.with_ymd_and_hms(2026, 12, 4, 10, 0, 0).unwrap(),
            workflow_id: Arc::from("orders"),
            workflow_name: Arc::from("Orders"),
            resume_key: Some(Arc::from("k")),
            trace: None,
            public_url: Arc::from("https://fn.example"),
        }
    }

    #[test]
    fn resume_url_gives_the_node_s_address() {
        let token = crate::resume::token("k", "exec-1", "Manager approval");
        assert_eq!(
            eval(r#"{% resume_url("Manager approval") %}"#, &json!({})),
            Ok(json!(format!(
                "https://fn.example/resume?execution_id=exec-1&node=Manager%20approval&token={token}"
            )))
        );
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 4, 10, 0, 5).unwrap()
    }

    fn eval(source: &str, input: &Value) -> Result<Value, String> {
        let execution = execution();
        Expression::compile(source)?.evaluate(
            &ItemData::new(input.clone()),
            &Scope::new(&execution, now()),
        )
    }

    /// `source` through the interpreter only, without the field-path shortcut.
    fn interpreted(source: &str, input: &Value) -> Result<Value, String> {
        let execution = execution();
        let mut expression = Expression::compile(source)?;
        expression.path = None;
        expression.evaluate(
            &ItemData::new(input.clone()),
            &Scope::new(&execution, now()),
        )
    }

    #[test]
    fn only_a_whole_string_between_the_delimiters_is_an_expression() {
        assert_eq!(code_of("{% .a %}"), Some(" .a "));
        assert_eq!(code_of("{%%}"), Some(""));
        assert_eq!(code_of(" {% .a %}"), None);
        assert_eq!(code_of("{% .a %} "), None);
        assert_eq!(code_of("{%"), None);
        assert_eq!(code_of("%}"), None);
        assert_eq!(code_of("Hello {{ name }}"), None);
    }

    #[test]
    fn expressions_read_the_item_and_the_execution() {
        let item = json!({"name": "Ada", "n": 2, "tags": ["a", "b"]});
        assert_eq!(eval("{% .name %}", &item), Ok(json!("Ada")));
        assert_eq!(eval("{% .n + 1 %}", &item), Ok(json!(3)));
        assert_eq!(eval(r#"{% "Hi \(.name)" %}"#, &item), Ok(json!("Hi Ada")));
        assert_eq!(eval(r#"{% .tags | join(",") %}"#, &item), Ok(json!("a,b")));
        assert_eq!(eval("{% .missing // \"none\" %}", &item), Ok(json!("none")));
        assert_eq!(eval("{% {a: .n} %}", &item), Ok(json!({"a": 2})));
        assert_eq!(
            eval("{% $execution %}", &item),
            Ok(json!({"id": "exec-1", "started_at": "2026-12-04T10:00:00.000Z"}))
        );
        assert_eq!(
            eval("{% $workflow %}", &item),
            Ok(json!({"id": "orders", "name": "Orders"}))
        );
        assert_eq!(
            eval("{% $now %}", &item),
            Ok(json!("2026-12-04T10:00:05.000Z"))
        );
    }

    #[test]
    fn no_value_is_null_and_several_are_an_error() {
        assert_eq!(eval("{% empty %}", &json!({})), Ok(Value::Null));
        let error = eval("{% 1, 2 %}", &json!({})).unwrap_err();
        assert!(error.contains("more than one value"), "{error}");
    }

    #[test]
    fn the_field_path_shortcut_agrees_with_the_interpreter() {
        let inputs = [
            json!({"a": {"b_c": 1}}),
            json!({"a": null}),
            json!({"a": 5}),
            json!({"a": "text"}),
            json!({"a": [1]}),
            json!({}),
            json!(null),
            json!(3),
            json!([{"a": 1}]),
            json!({"a": {"b_c": {"deep": [1, 2]}}}),
        ];
        for source in ["{% .a %}", "{% .a.b_c %}", "{%.a%}", "{% . %}"] {
            let shortcut = Expression::compile(source).unwrap();
            assert_eq!(
                shortcut.path.is_some(),
                source != "{% . %}",
                "{source} is a field path"
            );
            for input in &inputs {
                assert_eq!(
                    eval(source, input),
                    interpreted(source, input),
                    "{source} on {input}"
                );
            }
        }
    }

    #[test]
    fn compile_errors_say_what_and_where() {
        let error = Expression::compile("{% .a | %}").unwrap_err();
        assert!(error.starts_with("expected"), "{error}");
        let error = Expression::compile("{% nosuch(1) %}").unwrap_err();
        assert_eq!(error, "undefined filter `nosuch/1`");
        let error = Expression::compile("{% $nope %}").unwrap_err();
        assert_eq!(error, "undefined variable `$nope`");
        let error = Expression::compile("{%  %}").unwrap_err();
        assert!(error.starts_with("empty expression"), "{error}");
        let error = Expression::compile("{% \"unterminated %}").unwrap_err();
        assert_eq!(error, "expected closing quote at the end");
        let error = Expression::compile("{% .a ] %}").unwrap_err();
        assert_eq!(error, "expected token at character 5");
        // Modules are not read from anywhere.
        let error = Expression::compile("{% include \"/etc/passwd\"; . %}").unwrap_err();
        assert_eq!(error, "/etc/passwd: module loading not supported");
    }

    #[test]
    fn values_json_cannot_hold_are_errors_not_panics() {
        let error = eval("{% reduce range(200) as $i (null; [.]) %}", &json!({})).unwrap_err();
        assert!(error.contains("deeper than"), "{error}");
        let error = eval("{% nan %}", &json!({})).unwrap_err();
        assert!(error.contains("finite"), "{error}");
        assert_eq!(
            eval("{% 100000000000000000000 %}", &json!({})),
            Ok(json!(1e20))
        );
        assert_eq!(eval("{% 1.5 %}", &json!({})), Ok(json!(1.5)));
    }

    #[test]
    fn parameters_resolve_every_expression_in_place() {
        let parameters = Parameters::new(json!({
            "url": "{% \"https://x.test/\\(.id)\" %}",
            "headers": [{"name": "A", "value": "{% .token %}"}],
            "odd key": "{% .id - 1 %}",
            "plain": "{not an expression}",
            "count": 3
        }))
        .unwrap();
        assert!(parameters.has_expressions());
        let execution = execution();
        let scope = Scope::new(&execution, now());
        let resolved = parameters
            .resolve(&ItemData::new(json!({"id": 7, "token": "t"})), &scope)
            .unwrap();
        assert_eq!(
            *resolved,
            json!({
                "url": "https://x.test/7",
                "headers": [{"name": "A", "value": "t"}],
                "odd key": 6,
                "plain": "{not an expression}",
                "count": 3
            })
        );
        let error = parameters
            .resolve(&ItemData::new(json!({"id": "x"})), &scope)
            .unwrap_err();
        assert!(
            error.starts_with(r#"parameter `["odd key"]`: expression `{% .id - 1 %}` failed: "#),
            "{error}"
        );
    }

    #[test]
    fn parameters_without_expressions_are_borrowed_as_written() {
        let parameters = Parameters::new(json!({"a": "b"})).unwrap();
        assert!(!parameters.has_expressions());
        let execution = execution();
        let resolved = parameters
            .resolve(&ItemData::empty(), &Scope::new(&execution, now()))
            .unwrap();
        assert!(matches!(resolved, Cow::Borrowed(_)));
    }

    #[test]
    fn every_bad_expression_is_reported_with_its_path() {
        let invalid =
            Parameters::new(json!({"a": ["{% .x | %}", "{% $y %}"], "b": "{% . %}"})).unwrap_err();
        assert_eq!(invalid.0.len(), 2);
        assert_eq!(invalid.0[0].0, ".a[0]");
        assert_eq!(
            invalid.0[1],
            (".a[1]".to_owned(), "undefined variable `$y`".to_owned())
        );
        assert!(
            invalid
                .to_string()
                .starts_with("parameter `.a[0]`: expected")
        );
    }

    #[test]
    fn parameters_serialize_as_written_and_compile_when_read() {
        let written = json!({"a": "{% .x %}"});
        let parameters: Parameters = serde_json::from_value(written.clone()).unwrap();
        assert!(parameters.has_expressions());
        assert_eq!(serde_json::to_value(&parameters).unwrap(), written);
        let error = serde_json::from_value::<Parameters>(json!({"a": "{% ) %}"})).unwrap_err();
        assert!(
            error.to_string().starts_with("parameter `.a`: expected"),
            "{error}"
        );
    }

    #[test]
    fn the_catalog_schema_accepts_an_expression_for_every_field() {
        #[derive(schemars::JsonSchema)]
        #[allow(dead_code)]
        struct Params {
            /// A count.
            count: u32,
            tags: Vec<String>,
        }
        let schema = accepting_expressions(schemars::schema_for!(Params)).to_value();
        let expression = json!({"$ref": "#/$defs/Expression"});
        let count = &schema["properties"]["count"];
        assert_eq!(count["description"], "A count.");
        assert_eq!(count["anyOf"][1], expression);
        let tags = &schema["properties"]["tags"]["anyOf"][0];
        assert_eq!(tags["items"]["anyOf"][1], expression);
        assert_eq!(schema["$defs"]["Expression"]["type"], "string");
    }

    /// An item of `json` derived from item `item_index` of node `node`'s first output.
    fn derived(json: Value, node: &str, item_index: u32) -> ItemData {
        let mut item = ItemData::new(json);
        item.source = Some(ItemSource {
            node: Arc::from(node),
            output_index: 0,
            item_index,
        });
        item
    }

    #[test]
    fn names_of_nodes_and_secrets_are_found_and_must_be_literal() {
        let expression = Expression::compile(
            r#"{% "\(node("Fetch user").email) \(secret("api-token"))" + (node_items("List") | length | tostring) %}"#,
        )
        .unwrap();
        let references = expression.references();
        assert_eq!(
            references.nodes.iter().map(|n| &**n).collect::<Vec<_>>(),
            ["Fetch user", "List"]
        );
        assert_eq!(
            references.secrets.iter().map(|n| &**n).collect::<Vec<_>>(),
            ["api-token"]
        );
        let error = Expression::compile("{% node(.name) %}").unwrap_err();
        assert!(error.contains("one literal string"), "{error}");
        let error = Expression::compile(r#"{% secret("a\(1)") %}"#).unwrap_err();
        assert!(error.contains("`secret`"), "{error}");
        // A field or an object key of the same name is no call.
        let plain = Expression::compile("{% {node: .node, secret: 1} %}").unwrap();
        assert!(plain.references().is_empty());
    }

    #[test]
    fn node_pairs_the_item_through_its_lineage() {
        let mut lookups = Lookups::default();
        lookups.add_output(
            Arc::from("Users"),
            vec![vec![
                ItemData::new(json!({"name": "Ada"})),
                ItemData::new(json!({"name": "Grace"})),
            ]],
        );
        // `Mail` made one item from each user; the current item derives from the second mail.
        lookups.add_output(
            Arc::from("Mail"),
            vec![vec![
                derived(json!({"to": "ada@x"}), "Users", 0),
                derived(json!({"to": "grace@x"}), "Users", 1),
            ]],
        );
        lookups.add_output(
            Arc::from("Config"),
            vec![vec![ItemData::new(json!({"v": 1}))]],
        );
        let execution = execution();
        let scope = Scope::new(&execution, now()).with_lookups(&lookups);
        let item = derived(json!({"sent": true}), "Mail", 1);
        let eval =
            |source: &str, item: &ItemData| Expression::compile(source)?.evaluate(item, &scope);
        assert_eq!(
            eval(r#"{% node("Users").name %}"#, &item),
            Ok(json!("Grace"))
        );
        assert_eq!(
            eval(r#"{% node("Mail").to %}"#, &item),
            Ok(json!("grace@x"))
        );
        // A node of one item pairs with every item.
        assert_eq!(eval(r#"{% node("Config").v %}"#, &item), Ok(json!(1)));
        assert_eq!(
            eval(r#"{% node_items("Users") | map(.name) %}"#, &item),
            Ok(json!(["Ada", "Grace"]))
        );
        // Without lineage, a node of several items cannot pair.
        let error = eval(r#"{% node("Users") %}"#, &ItemData::empty()).unwrap_err();
        assert!(error.contains("node_items(\"Users\")"), "{error}");
        let error = eval(r#"{% node("Skipped") %}"#, &item).unwrap_err();
        assert!(error.contains("has no output"), "{error}");
    }

    #[test]
    fn secrets_are_read_by_name() {
        let mut lookups = Lookups::default();
        lookups.add_secret(Arc::from("token"), Secret::new("abcd"));
        let execution = execution();
        let scope = Scope::new(&execution, now()).with_lookups(&lookups);
        let expression = Expression::compile(r#"{% "Bearer " + secret("token") %}"#).unwrap();
        assert_eq!(
            expression.evaluate(&ItemData::empty(), &scope),
            Ok(json!("Bearer abcd"))
        );
    }
}
