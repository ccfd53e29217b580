//! Checks of parameters shared by the nodes.

/// The checks of a node whose parameters depend on its `operation`: which parameters that
/// operation requires, and which it does not use.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OperationParams<'a>(pub(crate) &'a str);

impl OperationParams<'_> {
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
