//! The wildcard matcher behind resource patterns and `StringLike` conditions. Written by hand
//! (no regex crate) so that the grammar stays exactly two wildcards and the cost stays bounded.

/// Whether `text` matches `pattern`, where `*` matches any run of characters (including none),
/// `?` matches exactly one character and every other character matches only itself.
///
/// Iterative with a single backtrack point, so the cost is at most `O(pattern × text)` in
/// characters, never exponential, and it cannot overflow the stack or panic on any UTF-8 input.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    // Byte offsets into `pattern` and `text`; both always sit on character boundaries.
    let (mut p, mut t) = (0, 0);
    // Where to resume after the most recent `*`: the pattern just past it and the text position
    // that star currently stops at.
    let mut resume: Option<(usize, usize)> = None;
    loop {
        let pc = next_char(pattern, p);
        let tc = next_char(text, t);
        match (pc, tc) {
            (None, None) => return true,
            (Some('*'), _) => {
                p += 1;
                resume = Some((p, t));
                continue;
            }
            (Some('?'), Some(c)) => {
                p += 1;
                t += c.len_utf8();
                continue;
            }
            (Some(expected), Some(c)) if expected == c => {
                p += expected.len_utf8();
                t += c.len_utf8();
                continue;
            }
            _ => {}
        }
        // Mismatch: let the last `*` swallow one more character and retry from just past it.
        let Some((star_p, star_t)) = resume else { return false };
        let Some(swallowed) = next_char(text, star_t) else { return false };
        let star_t = star_t + swallowed.len_utf8();
        resume = Some((star_p, star_t));
        p = star_p;
        t = star_t;
    }
}

/// The character starting at byte `at` of `s`, if any.
fn next_char(s: &str, at: usize) -> Option<char> {
    s.get(at..).and_then(|rest| rest.chars().next())
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn literals_match_only_themselves() {
        assert!(glob_match("srn:default:user:usr_1", "srn:default:user:usr_1"));
        assert!(!glob_match("srn:default:user:usr_1", "srn:default:user:usr_12"));
        assert!(!glob_match("srn:default:user:usr_12", "srn:default:user:usr_1"));
        assert!(!glob_match("abc", "ABC"));
    }

    #[test]
    fn star_matches_any_run_including_none() {
        assert!(glob_match("*", ""));
        assert!(glob_match("*", "anything at all"));
        assert!(glob_match("srn:default:user:*", "srn:default:user:usr_abc"));
        assert!(glob_match("srn:default:user:*", "srn:default:user:"));
        assert!(!glob_match("srn:default:user:*", "srn:default:group:grp_1"));
        assert!(glob_match("srn:*:user:usr_1", "srn:acme:user:usr_1"));
        assert!(glob_match("srn:*:user:usr_1", "srn:a:b:user:usr_1"));
        assert!(!glob_match("srn:*:user:usr_1", "srn:acme:user:usr_2"));
        assert!(glob_match("a*b*c", "abc"));
        assert!(glob_match("a*b*c", "aXXbYYc"));
        assert!(!glob_match("a*b*c", "aXXbYY"));
        assert!(glob_match("*a*a*b", "aaaaab"));
        assert!(!glob_match("*a*a*b", "aaaaa"));
    }

    #[test]
    fn question_mark_matches_exactly_one_character() {
        assert!(glob_match("usr_?", "usr_1"));
        assert!(!glob_match("usr_?", "usr_"));
        assert!(!glob_match("usr_?", "usr_12"));
        assert!(glob_match("usr_??", "usr_12"));
        assert!(glob_match("?*", "x"));
        assert!(!glob_match("?*", ""));
    }

    #[test]
    fn empty_pattern_matches_only_empty_text() {
        assert!(glob_match("", ""));
        assert!(!glob_match("", "a"));
        assert!(!glob_match("a", ""));
        assert!(!glob_match("?", ""));
    }

    #[test]
    fn consecutive_stars_behave_like_one() {
        assert!(glob_match("**", ""));
        assert!(glob_match("**", "abc"));
        assert!(glob_match("a**c", "abbbc"));
        assert!(glob_match("***x***", "x"));
        assert!(!glob_match("a**c", "abbb"));
    }

    #[test]
    fn wildcard_characters_in_text_are_plain_characters() {
        assert!(glob_match("a*", "a*"));
        assert!(glob_match("*", "*?"));
        assert!(!glob_match("a?c", "ac"));
        assert!(glob_match("a?c", "a?c"));
    }

    #[test]
    fn unicode_counts_characters_not_bytes() {
        assert!(glob_match("caf?", "café"));
        assert!(glob_match("?", "é"));
        assert!(glob_match("?", "🦀"));
        assert!(!glob_match("??", "🦀"));
        assert!(glob_match("*🦀*", "rust 🦀 crab"));
        assert!(glob_match("名*", "名前"));
        assert!(!glob_match("名?", "名前です"));
        assert!(glob_match("*é", "ééé"));
        assert!(!glob_match("é", "e"));
    }

    /// A slow but obviously correct matcher over characters, to compare against.
    fn reference(pattern: &[char], text: &[char]) -> bool {
        match pattern.split_first() {
            None => text.is_empty(),
            Some(('*', rest)) => (0..=text.len()).any(|skip| reference(rest, &text[skip..])),
            Some((&expected, rest)) => {
                text.split_first().is_some_and(|(&c, tail)| (expected == '?' || expected == c) && reference(rest, tail))
            }
        }
    }

    #[test]
    fn agrees_with_a_reference_matcher() {
        let alphabet = ['a', 'b', 'é', '🦀', '*', '?'];
        let mut seed: u64 = 0x5eed;
        let mut next = |bound: usize| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            usize::try_from(seed >> 33).unwrap_or(0) % bound
        };
        for _ in 0..5_000 {
            let pattern: String = (0..next(7)).map(|_| alphabet[next(alphabet.len())]).collect();
            let text: String = (0..next(7)).map(|_| alphabet[next(4)]).collect();
            let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
            assert_eq!(glob_match(&pattern, &text), reference(&p, &t), "{pattern:?} vs {text:?}");
        }
    }

    #[test]
    fn long_inputs_stay_cheap() {
        let text = "a".repeat(100_000);
        let pattern = format!("{}b", "*a".repeat(256));
        assert!(!glob_match(&pattern, &text));
        let matching = format!("{}*", "*a".repeat(256));
        assert!(glob_match(&matching, &text));
        assert!(glob_match("*", &text));
        assert!(!glob_match(&"?".repeat(100_001), &text));
        assert!(glob_match(&"?".repeat(100_000), &text));
    }
}
