//! Names for experiments the user did not name: an adjective and a noun, as DVC gives
//! (`brisk-lark`), drawn from the experiment's content so that a rerun of the same variation
//! on the same baseline gets the same name, with a number added when it is taken.

const ADJECTIVES: [&str; 32] = [
    "amber", "bold", "brisk", "calm", "clear", "crisp", "deft", "eager", "fair", "fleet", "fond",
    "glad", "grand", "keen", "kind", "lush", "merry", "mild", "neat", "noble", "plain", "prime",
    "quick", "quiet", "rapid", "sharp", "sleek", "snug", "solid", "spry", "swift", "vivid",
];
const NOUNS: [&str; 32] = [
    "alder", "aspen", "birch", "brook", "cedar", "cliff", "crane", "delta", "dune", "egret",
    "fern", "finch", "fjord", "grove", "heron", "lark", "larch", "maple", "marsh", "mesa", "moss",
    "oak", "otter", "pine", "reef", "ridge", "robin", "sedge", "shoal", "swift", "wren", "yew",
];

/// A name for content `seed`, not among `taken`.
pub fn generate(seed: &[u8], taken: &dyn Fn(&str) -> bool) -> String {
    let hash = blake3::hash(seed);
    let bytes = hash.as_bytes();
    let base = format!(
        "{}-{}",
        ADJECTIVES[usize::from(bytes[0]) % ADJECTIVES.len()],
        NOUNS[usize::from(bytes[1]) % NOUNS.len()]
    );
    if !taken(&base) {
        return base;
    }
    (2..=usize::MAX)
        .map(|n| format!("{base}-{n}"))
        .find(|name| !taken(name))
        .expect("some number is free")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_stable_and_avoid_taken_ones() {
        let first = generate(b"x", &|_| false);
        assert_eq!(first, generate(b"x", &|_| false));
        assert!(first.split('-').count() == 2);
        let next = generate(b"x", &|n| n == first);
        assert_eq!(next, format!("{first}-2"));
    }
}
