//! Agent names: one spelling per agent, so that `Support-Bot`, `support-bot ` and `support-bot`
//! are the same agent to every policy, rate limit, key binding and receipt.
//!
//! A name is trimmed, put in Unicode compatibility form (NFKC: a full-width `ｓ` is an `s`) and
//! lower-cased. Control and invisible characters (zero-width spaces, direction marks, variation
//! selectors, ...) are refused rather than dropped: a name that hides a character is a mistake or
//! an attack, and quietly repairing it would hide either.

use unicode_normalization::UnicodeNormalization;

/// The most characters an agent name may have.
pub const MAX_AGENT_CHARS: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AgentNameError {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most {MAX_AGENT_CHARS} characters")]
    TooLong,
    #[error("holds an invisible or control character (U+{0:04X}); agent names are plain text")]
    Invisible(u32),
}

/// The one spelling of an agent name, or why it cannot be one.
pub fn normalise_agent(name: &str) -> Result<String, AgentNameError> {
    let trimmed = name.trim();
    if trimmed.is_empty() {
        return Err(AgentNameError::Empty);
    }
    // Most names are plain lower-case ASCII already, and this runs on every decision.
    if trimmed.len() <= MAX_AGENT_CHARS
        && trimmed
            .bytes()
            .all(|b| (b' '..=b'~').contains(&b) && !b.is_ascii_uppercase())
    {
        return Ok(trimmed.to_owned());
    }
    if let Some(hidden) = trimmed.chars().find(|c| is_invisible(*c)) {
        return Err(AgentNameError::Invisible(u32::from(hidden)));
    }
    let folded = trimmed.nfkc().collect::<String>().to_lowercase();
    if folded.chars().count() > MAX_AGENT_CHARS {
        return Err(AgentNameError::TooLong);
    }
    Ok(folded)
}

/// Characters that change what a name looks like to a machine but not to a person: controls,
/// whitespace other than the plain space, and Unicode's default-ignorable code points.
fn is_invisible(c: char) -> bool {
    c.is_control()
        || (c.is_whitespace() && c != ' ')
        || matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{061C}'
                | '\u{115F}'
                | '\u{1160}'
                | '\u{17B4}'
                | '\u{17B5}'
                | '\u{180B}'..='\u{180F}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{FFF0}'..='\u{FFF8}'
                | '\u{1BCA0}'..='\u{1BCA3}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0000}'..='\u{E0FFF}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Result<&str, AgentNameError>) {
        assert_eq!(
            normalise_agent(input),
            expected.map(str::to_owned),
            "input {input:?}"
        );
    }

    #[test]
    fn one_spelling_per_agent() {
        check("support-bot", Ok("support-bot"));
        check("Support-Bot", Ok("support-bot"));
        check("  support-bot \t", Ok("support-bot"));
        check("ＳＵＰＰＯＲＴ-bot", Ok("support-bot"));
        check("expense bot", Ok("expense bot"));
        check(
            "support-bot\u{200B}",
            Err(AgentNameError::Invisible(0x200B)),
        );
        check("sup\u{00AD}port-bot", Err(AgentNameError::Invisible(0xAD)));
        check("support\u{202E}tob", Err(AgentNameError::Invisible(0x202E)));
        check("support\nbot", Err(AgentNameError::Invisible(0x0A)));
        check("support\u{00A0}bot", Err(AgentNameError::Invisible(0xA0)));
        check("   ", Err(AgentNameError::Empty));
        check(
            &"a".repeat(MAX_AGENT_CHARS),
            Ok(&"a".repeat(MAX_AGENT_CHARS)),
        );
        check(
            &"a".repeat(MAX_AGENT_CHARS + 1),
            Err(AgentNameError::TooLong),
        );
    }
}
