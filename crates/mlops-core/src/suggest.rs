//! "Did you mean": the known name closest to a mistyped one, for errors that name a key, stage,
//! metric or column the user got wrong. One implementation, so that every command suggests alike.

/// The candidate closest to `word` by edit distance, if it is close enough to be the intended
/// one: at most 2 edits, or a third of `word`'s length for long words. Ties go to the candidate
/// that sorts first, so the answer does not depend on the candidates' order.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let limit = (word.chars().count() / 3).max(2);
    candidates
        .into_iter()
        .filter(|c| *c != word)
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, c)| c.to_owned())
}

/// Levenshtein distance: the fewest insertions, deletions and substitutions of characters that
/// turn `a` into `b`.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    // One row of the dynamic-programming table at a time: row[j] is the distance between the
    // prefix of `a` read so far and the first j characters of `b`.
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = (previous + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(current + 1);
            previous = current;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("roc_acu", "roc_auc"), 2);
        assert_eq!(edit_distance("incom", "income"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
    }

    #[test]
    fn suggestions() {
        let metrics = ["accuracy", "roc_auc", "recall", "precision"];
        assert_eq!(closest("roc_acu", metrics).as_deref(), Some("roc_auc"));
        assert_eq!(closest("recal", metrics).as_deref(), Some("recall"));
        assert_eq!(closest("income", ["income"]), None, "not itself");
        assert_eq!(closest("wobble", metrics), None, "too far from all");
        // Ties go to the first in sorted order, whatever the candidates' order.
        assert_eq!(closest("ab", ["ac", "aa"]).as_deref(), Some("aa"));
        assert_eq!(closest("ab", ["aa", "ac"]).as_deref(), Some("aa"));
    }
}
