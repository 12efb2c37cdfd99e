//! The one shape of "this field breaks a rule", shared by every parser.

/// A field of user input that breaks a rule. Maps to 422 `validation_failed`
/// with `details.field`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    /// The contract's (camelCase) name of the field.
    pub field: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        FieldError {
            field,
            message: message.into(),
        }
    }
}
