//! What the nodes' parameters share: the JSON Schema of checked parameters, and the checks of
//! parameters that depend on an `operation`.

/// Implements `JsonSchema` for a node's checked parameters, `$spec` (what the node takes, read
/// `try_from` `$params`), as the schema of `$params` (the parameters as written in workflows),
/// title included: the node's published parameter schema is always that of its `…Params`.
macro_rules! schema_of_params {
    ($spec:ty => $params:ty) => {
        impl schemars::JsonSchema for $spec {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                <$params as schemars::JsonSchema>::schema_name()
            }

            fn schema_id() -> std::borrow::Cow<'static, str> {
                <$params as schemars::JsonSchema>::schema_id()
            }

            fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
                <$params as schemars::JsonSchema>::json_schema(generator)
            }
        }
    };
}

pub(crate) use schema_of_params;

/// The checks of a node whose parameters depend on its `operation`: which parameters that
/// operation requires, and which it does not use.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ForOperation<'a>(pub(crate) &'a str);

impl ForOperation<'_> {
    /// `value` of parameter `name`, which the operation requires.
    ///
    /// # Errors
    ///
    /// When it is absent.
    pub(crate) fn required<T>(self, name: &str, value: Option<T>) -> Result<T, String> {
        value.ok_or_else(|| format!("at `{name}`: required by the `{}` operation", self.0))
    }

    /// Checks that parameter `name`, which the operation does not use, is absent.
    ///
    /// # Errors
    ///
    /// When it is present.
    pub(crate) fn unused<T>(self, name: &str, value: Option<&T>) -> Result<(), String> {
        match value {
            Some(_) => Err(format!(
                "at `{name}`: not used by the `{}` operation; remove it",
                self.0
            )),
            None => Ok(()),
        }
    }
}
