//! Work spread over the machine's cores with scoped threads: a map over indices and a sort. No
//! thread pool: each call's work is large (millions of rows), so starting threads costs nothing
//! next to it.

/// The number of threads worth starting for `jobs` jobs.
fn threads(jobs: usize) -> usize {
    std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .min(jobs)
        .max(1)
}

/// `run(i)` for every `i` in `0..count`, spread over the cores; the results in index order.
///
/// # Panics
/// When `run` panics.
pub fn map<T: Send>(count: usize, run: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let threads = threads(count);
    let mut results: Vec<(usize, T)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let run = &run;
                scope.spawn(move || {
                    (t..count)
                        .step_by(threads)
                        .map(|i| (i, run(i)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a worker thread panicked"))
            .collect()
    });
    results.sort_unstable_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, t)| t).collect()
}

/// `items` sorted, each mapped through `keep`: halves sorted on two threads, then merged
/// straight into the mapped output (when the sort keys are larger than what is kept, this saves
/// a second copy of the items).
///
/// # Panics
/// When a comparison panics.
pub fn sorted<T: Ord + Send, U>(mut items: Vec<T>, keep: impl Fn(&T) -> U) -> Vec<U> {
    if threads(2) < 2 || items.len() < 1 << 16 {
        items.sort_unstable();
        return items.iter().map(keep).collect();
    }
    let half = items.len() / 2;
    let (low, high) = items.split_at_mut(half);
    std::thread::scope(|scope| {
        scope.spawn(|| low.sort_unstable());
        high.sort_unstable();
    });
    let (low, high) = items.split_at(half);
    let mut merged = Vec::with_capacity(items.len());
    let (mut i, mut j) = (0, 0);
    while i < low.len() && j < high.len() {
        if high[j] < low[i] {
            merged.push(keep(&high[j]));
            j += 1;
        } else {
            merged.push(keep(&low[i]));
            i += 1;
        }
    }
    merged.extend(low[i..].iter().map(&keep));
    merged.extend(high[j..].iter().map(&keep));
    merged
}

#[cfg(test)]
mod tests {
    #[test]
    fn map_keeps_index_order_and_sorted_sorts() {
        assert_eq!(
            super::map(100, |i| i * 2),
            (0..100).map(|i| i * 2).collect::<Vec<_>>()
        );
        let items: Vec<u64> = (0..200_000u64).map(|i| (i * 7919) % 100_003).collect();
        let mut expected = items.clone();
        expected.sort_unstable();
        assert_eq!(super::sorted(items, |&x| x), expected);
    }
}
