//! The order of package versions, as PEP 440 and semver mostly agree: an epoch (`1!`) first,
//! then the release numerically with trailing zero segments ignored (`1.0` is `1.0.0`), then
//! `dev` before pre-releases (`a`, `b`, `rc`, `-alpha`) before the release before `post`; a
//! local label (`+cu121`) only breaks a tie. Good enough to tell an upgrade from a downgrade; not
//! a full implementation of either.

use std::cmp::Ordering;

/// A segment of a version: a number (without its leading zeros), or a word (`rc`, `dev`, `post`).
#[derive(Debug, PartialEq, Eq)]
enum Segment<'a> {
    Number(&'a str),
    Word(String),
}

/// A version split into the parts compared in turn.
#[derive(Debug)]
struct Parsed<'a> {
    /// Without leading zeros; empty for none (epoch 0).
    epoch: &'a str,
    /// The release numbers (trailing zeros dropped), then any words and numbers after them.
    public: Vec<Segment<'a>>,
    /// What follows `+`, split as the public part is.
    local: Option<Vec<Segment<'a>>>,
}

fn parse(version: &str) -> Parsed<'_> {
    let version = version.trim();
    let (epoch, rest) = match version.split_once('!') {
        Some((epoch, rest)) if !epoch.is_empty() && epoch.bytes().all(|b| b.is_ascii_digit()) => {
            (epoch.trim_start_matches('0'), rest)
        }
        _ => ("", version),
    };
    let (public, local) = match rest.split_once('+') {
        Some((public, local)) => (public, Some(segments(local))),
        None => (rest, None),
    };
    let mut public = segments(public);
    // `1.0` is `1.0.0`: zeros ending the release count for nothing.
    let release = public
        .iter()
        .position(|s| !matches!(s, Segment::Number(_)))
        .unwrap_or(public.len());
    let mut end = release;
    while end > 0 && public[end - 1] == Segment::Number("") {
        end -= 1;
    }
    public.drain(end..release);
    Parsed {
        epoch,
        public,
        local,
    }
}

fn segments(version: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    let bytes = version.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        if bytes[i].is_ascii_digit() {
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            out.push(Segment::Number(version[start..i].trim_start_matches('0')));
        } else if bytes[i].is_ascii_alphabetic() {
            while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
                i += 1;
            }
            out.push(Segment::Word(version[start..i].to_ascii_lowercase()));
        } else {
            i += 1;
        }
    }
    out
}

/// Where a word stands among releases: `dev` before pre-releases (`a`, `b`, `rc`), those
/// before the release itself, `post` after it.
fn word_rank(word: &str) -> u8 {
    match word {
        "dev" => 0,
        "post" | "r" | "rev" => 3,
        _ => 1,
    }
}

fn numbers(left: &str, right: &str) -> Ordering {
    left.len().cmp(&right.len()).then_with(|| left.cmp(right))
}

fn sequence(left: &[Segment], right: &[Segment]) -> Ordering {
    (0..left.len().max(right.len()))
        .map(|i| compare_segments(left.get(i), right.get(i)))
        .find(|order| *order != Ordering::Equal)
        .unwrap_or(Ordering::Equal)
}

/// Orders `old` and `new` by epoch, release and pre/post/dev parts, ignoring local labels
/// (`2.3.0+cu121` equals `2.3.0` here).
pub fn compare_public(old: &str, new: &str) -> Ordering {
    let (left, right) = (parse(old), parse(new));
    numbers(left.epoch, right.epoch).then_with(|| sequence(&left.public, &right.public))
}

/// A total order for sorting: [`compare_public`], then the local label (none before any, as
/// PEP 440 orders them).
pub fn compare_versions(old: &str, new: &str) -> Ordering {
    compare_public(old, new).then_with(|| match (parse(old).local, parse(new).local) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(l), Some(r)) => sequence(&l, &r),
    })
}

fn compare_segments(left: Option<&Segment>, right: Option<&Segment>) -> Ordering {
    match (left, right) {
        (Some(Segment::Number(l)), Some(Segment::Number(r))) => numbers(l, r),
        (Some(Segment::Word(l)), Some(Segment::Word(r))) => {
            word_rank(l).cmp(&word_rank(r)).then_with(|| l.cmp(r))
        }
        // A number goes on the release (1.0.1), which comes after any word on 1.0 (1.0.post1),
        // as more numbers come after fewer (1.0.1 after 1.0).
        (Some(Segment::Number(_)), Some(Segment::Word(_)) | None) => Ordering::Greater,
        (Some(Segment::Word(_)) | None, Some(Segment::Number(_))) => Ordering::Less,
        // A word where the other ran out is a pre-release, unless it is `post`.
        (Some(Segment::Word(word)), None) => {
            if word_rank(word) == 3 {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
        (None, Some(Segment::Word(word))) => {
            if word_rank(word) == 3 {
                Ordering::Less
            } else {
                Ordering::Greater
            }
        }
        (None, None) => Ordering::Equal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_in_order() {
        let ordered = [
            "0.9",
            "1.0.dev1",
            "1.0a1",
            "1.0b2",
            "1.0rc1",
            "1.0",
            "1.0+cu118",
            "1.0+cu121",
            "1.0.post1",
            "1.0.1",
            "1.2",
            "1.10",
            "2.0.0-alpha",
            "2.0.0",
            "10.0",
            "1!0.1",
        ];
        for (i, a) in ordered.iter().enumerate() {
            for (j, b) in ordered.iter().enumerate() {
                assert_eq!(compare_versions(a, b), i.cmp(&j), "{a} vs {b}");
            }
        }
    }

    #[test]
    fn equal_versions() {
        for (a, b) in [
            ("1.0", "1.0.0"),
            ("1", "1.0.0.0"),
            ("1.01", "1.1"),
            ("0!1.0", "1.0"),
            ("1.0rc1", "1.0.0rc1"),
        ] {
            assert_eq!(compare_versions(a, b), Ordering::Equal, "{a} vs {b}");
        }
        // A zero inside the release still counts.
        assert_eq!(compare_versions("1.0.1", "1.1"), Ordering::Less);
        assert_eq!(
            compare_public("2.3.0", "2.3.0+cu121"),
            Ordering::Equal,
            "a local label is no release"
        );
    }
}
