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

/// Refuses control characters in a one-line text field (a name, a title, an
/// email): every one of them, U+0000 included, which PostgreSQL cannot store.
///
/// # Errors
/// A [`FieldError`] on `field` naming the first offending character.
pub fn single_line(field: &'static str, raw: &str) -> Result<(), FieldError> {
    check_controls(field, raw, |_| false)
}

/// Like [`single_line`] for free text (a description, a note), where newline
/// and tab are allowed. Returns the text with `\r\n` turned into `\n`, the
/// one other control character a browser's text area produces.
///
/// # Errors
/// A [`FieldError`] on `field` naming the first offending character.
pub fn multi_line(field: &'static str, raw: &str) -> Result<String, FieldError> {
    let text = raw.replace("\r\n", "\n");
    check_controls(field, &text, |c| c == '\n' || c == '\t')?;
    Ok(text)
}

fn check_controls(
    field: &'static str,
    raw: &str,
    allowed: impl Fn(char) -> bool,
) -> Result<(), FieldError> {
    match raw.chars().find(|c| c.is_control() && !allowed(*c)) {
        None => Ok(()),
        Some(c) => Err(FieldError::new(
            field,
            format!(
                "must not contain control characters (found U+{:04X})",
                u32::from(c)
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_fields_refuse_every_control_character() {
        assert!(single_line("title", "Poster for the fair — ünïcode").is_ok());
        for bad in [
            "a\u{0}b",
            "tab\there",
            "line\nbreak",
            "\u{1b}[31m",
            "del\u{7f}",
            "c1\u{85}",
        ] {
            let err = single_line("title", bad).unwrap_err();
            assert_eq!(err.field, "title", "{bad:?}");
        }
        assert!(single_line("email", "a\u{0}@example.com")
            .unwrap_err()
            .message
            .contains("U+0000"));
    }

    #[test]
    fn free_text_allows_newline_and_tab_only() {
        assert_eq!(multi_line("note", "a\n\tb").unwrap(), "a\n\tb");
        assert_eq!(multi_line("note", "a\r\nb").unwrap(), "a\nb");
        for bad in ["a\u{0}", "a\rb", "bell\u{7}", "\u{1f}"] {
            assert_eq!(
                multi_line("description", bad).unwrap_err().field,
                "description",
                "{bad:?}"
            );
        }
    }
}
