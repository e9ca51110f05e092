//! Sorting floats by radix: every numeric drift test sorts the column on both sides, and at 10M
//! rows a comparison sort was the largest cost of a drift run (40% of it, with the merge after).

/// Bits per digit: six passes over 64 bits, 2,048 buckets (counts stay in L1 cache).
const DIGIT: u32 = 11;
/// Below this many values a comparison sort is faster than six passes.
const SMALL: usize = 1 << 12;

/// Sorts `values` into the order `sort_unstable_by(f64::total_cmp)` gives (the same bits in the
/// same places: equal keys are equal bit patterns), by a least-significant-digit radix sort.
pub(crate) fn sort_floats(values: &mut [f64]) {
    if values.len() < SMALL {
        values.sort_unstable_by(f64::total_cmp);
        return;
    }
    // Keys are kept in the f64 slots as bit patterns, to need one scratch buffer, not two.
    for v in values.iter_mut() {
        *v = f64::from_bits(key(*v));
    }
    let passes = 64u32.div_ceil(DIGIT);
    let buckets = 1usize << DIGIT;
    let mut counts = vec![0usize; buckets * passes as usize];
    for v in values.iter() {
        let k = v.to_bits();
        for pass in 0..passes {
            counts[pass as usize * buckets + digit(k, pass)] += 1;
        }
    }
    let mut scratch = vec![0.0f64; values.len()];
    let (mut from, mut to): (&mut [f64], &mut [f64]) = (values, &mut scratch);
    let mut in_scratch = false;
    for pass in 0..passes {
        let counts = &counts[pass as usize * buckets..(pass as usize + 1) * buckets];
        // A digit every key shares moves nothing.
        if counts.contains(&from.len()) {
            continue;
        }
        let mut offsets = Vec::with_capacity(buckets);
        let mut total = 0;
        for &count in counts {
            offsets.push(total);
            total += count;
        }
        for v in from.iter() {
            let slot = &mut offsets[digit(v.to_bits(), pass)];
            to[*slot] = *v;
            *slot += 1;
        }
        std::mem::swap(&mut from, &mut to);
        in_scratch = !in_scratch;
    }
    if in_scratch {
        to.copy_from_slice(from);
    }
    let values = if in_scratch { to } else { from };
    for v in values.iter_mut() {
        *v = f64::from_bits(value(v.to_bits()));
    }
}

/// The `pass`-th digit of `key`, least significant first.
fn digit(key: u64, pass: u32) -> usize {
    usize::try_from((key >> (pass * DIGIT)) & ((1 << DIGIT) - 1)).expect("a digit fits usize")
}

/// An unsigned key that orders as `f64::total_cmp` orders the floats: negatives have every bit
/// flipped (larger magnitude, smaller key), non-negatives only the sign bit.
fn key(v: f64) -> u64 {
    let bits = v.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | 1 << 63
    }
}

/// The float of a [`key`].
fn value(key: u64) -> u64 {
    if key >> 63 == 1 {
        key & !(1 << 63)
    } else {
        !key
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_as_total_cmp_does_bit_for_bit() {
        let mut rng = mlops_core::rng::SplitMix(7);
        let mut values: Vec<f64> = (0..20_000)
            .map(|i| match i % 7 {
                0 => -0.0,
                1 => 0.0,
                2 => f64::from(i % 13) - 6.0,
                3 => -1e300 * rng.uniform(),
                _ => (rng.uniform() - 0.5) * 1e6,
            })
            .collect();
        values.push(f64::MIN_POSITIVE);
        values.push(-f64::MIN_POSITIVE / 2.0);
        let mut expected = values.clone();
        expected.sort_unstable_by(f64::total_cmp);
        sort_floats(&mut values);
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&values), bits(&expected));
    }

    #[test]
    fn a_shared_digit_is_skipped_without_losing_the_order() {
        // Small integers share their high digits: passes are skipped, an odd count of passes
        // leaves the result in the scratch buffer.
        let mut values: Vec<f64> = (0..10_000).rev().map(f64::from).collect();
        sort_floats(&mut values);
        assert!(values.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(values[0].to_bits(), 0);
    }
}
