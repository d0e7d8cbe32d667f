//! The statistics of `reflect eval`, pure: the Wilson score interval of an accuracy, McNemar's
//! exact test and the paired difference between two arms, means and medians.

/// z for a two-sided 95% interval.
pub const Z95: f64 = 1.959_963_984_540_054;

/// The Wilson score interval for `correct` successes out of `n`, at `z`; `None` for `n == 0`.
pub fn wilson(correct: u64, n: u64, z: f64) -> Option<(f64, f64)> {
    if n == 0 {
        return None;
    }
    let n = n as f64;
    let p = correct as f64 / n;
    let z2 = z * z;
    let denom = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denom;
    let half = z / denom * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    Some(((centre - half).max(0.0), (centre + half).min(1.0)))
}

/// The four counts of two arms judged on the same questions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Paired {
    pub both_right: u64,
    /// Right in the first arm only.
    pub first_only: u64,
    /// Right in the second arm only.
    pub second_only: u64,
    pub both_wrong: u64,
}

impl Paired {
    /// Counts the pairs `(first correct, second correct)`.
    pub fn from_pairs(pairs: impl IntoIterator<Item = (bool, bool)>) -> Paired {
        let mut p = Paired::default();
        for pair in pairs {
            match pair {
                (true, true) => p.both_right += 1,
                (true, false) => p.first_only += 1,
                (false, true) => p.second_only += 1,
                (false, false) => p.both_wrong += 1,
            }
        }
        p
    }

    pub fn n(&self) -> u64 {
        self.both_right + self.first_only + self.second_only + self.both_wrong
    }

    /// The second arm's accuracy minus the first's on these questions; `None` with none.
    pub fn difference(&self) -> Option<f64> {
        let n = self.n();
        (n > 0).then(|| (self.second_only as f64 - self.first_only as f64) / n as f64)
    }

    /// McNemar's exact two-sided p-value: the discordant pairs against a fair coin.
    pub fn mcnemar_p(&self) -> f64 {
        mcnemar_exact(self.first_only, self.second_only)
    }
}

/// McNemar's exact test, two-sided: twice the binomial(b + c, ½) tail at min(b, c), at most 1.
pub fn mcnemar_exact(b: u64, c: u64) -> f64 {
    let n = b + c;
    if n == 0 {
        return 1.0;
    }
    let k = b.min(c);
    // In logarithms, so that thousands of pairs do not underflow 0.5^n.
    let ln_half_n = -(n as f64) * std::f64::consts::LN_2;
    let mut ln_term = ln_half_n; // ln(C(n, 0) / 2^n)
    let mut terms = vec![ln_term];
    for i in 0..k {
        ln_term += ((n - i) as f64).ln() - ((i + 1) as f64).ln();
        terms.push(ln_term);
    }
    let max = terms.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let tail = max.exp() * terms.iter().map(|t| (t - max).exp()).sum::<f64>();
    (2.0 * tail).min(1.0)
}

pub fn mean(xs: &[f64]) -> Option<f64> {
    (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64)
}

pub fn median(xs: &[f64]) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn close(a: f64, b: f64, eps: f64) -> bool {
        (a - b).abs() <= eps
    }

    #[test]
    fn wilson_matches_published_values() {
        // Published values (R's prop.test(x, n, correct = FALSE)$conf.int), 7 digits.
        let table = [
            (7, 10, 0.3967781, 0.8922087),
            (0, 10, 0.0, 0.2775328),
            (10, 10, 0.7224672, 1.0),
            (1, 2, 0.0945312, 0.9054688),
        ];
        for (x, n, lo, hi) in table {
            let (l, h) = wilson(x, n, Z95).unwrap();
            assert!(close(l, lo, 5e-7) && close(h, hi, 5e-7), "{x}/{n}: {l} {h}");
        }
        assert_eq!(wilson(0, 0, Z95), None);
    }

    /// The binomial(n, ½) probability of k or fewer, from Pascal's triangle in exact integers.
    fn lower_tail(n: u64, k: u64) -> f64 {
        let mut row = vec![1u128];
        for _ in 0..n {
            let mut next = vec![1u128; row.len() + 1];
            for i in 1..row.len() {
                next[i] = row[i - 1] + row[i];
            }
            row = next;
        }
        let sum: u128 = row[..=k as usize].iter().sum();
        sum as f64 / 2f64.powi(n as i32)
    }

    #[test]
    fn mcnemar_exact_by_hand() {
        // b=1, c=6: 2 * (1 + 7) / 128.
        assert!(close(mcnemar_exact(1, 6), 0.125, 1e-15));
        assert!(close(mcnemar_exact(6, 1), 0.125, 1e-15));
        // b=0, c=5: 2 / 32.
        assert!(close(mcnemar_exact(0, 5), 0.0625, 1e-15));
        assert_eq!(mcnemar_exact(0, 0), 1.0);
        assert_eq!(mcnemar_exact(3, 3), 1.0);
        // Far beyond 0.5^1074: no underflow to 0 or NaN, and the value itself, summed here
        // independently in logarithms (ln C(n, k) built up term by term).
        let (b, n) = (600u64, 1500u64);
        let mut ln_c = 0.0f64;
        let mut terms = Vec::new();
        for k in 0..=b {
            if k > 0 {
                ln_c += ((n - k + 1) as f64).ln() - (k as f64).ln();
            }
            terms.push(ln_c - n as f64 * 2f64.ln());
        }
        let top = terms.iter().cloned().fold(f64::MIN, f64::max);
        let want = 2.0 * (top + terms.iter().map(|t| (t - top).exp()).sum::<f64>().ln()).exp();
        let got = mcnemar_exact(600, 900);
        assert!(
            want > 0.0 && ((got - want) / want).abs() < 1e-9,
            "{got} against {want}"
        );
    }

    proptest! {
        #[test]
        fn mcnemar_agrees_with_pascals_triangle(b in 0u64..60, c in 0u64..60) {
            let n = b + c;
            let want = if n == 0 { 1.0 } else { (2.0 * lower_tail(n, b.min(c))).min(1.0) };
            let got = mcnemar_exact(b, c);
            // Relative: the smallest p-values here (2^-119) count as much as the largest.
            prop_assert!(((got - want) / want).abs() <= 1e-9, "{got} {want}");
        }

        #[test]
        fn wilson_contains_the_estimate(n in 1u64..500, frac in 0.0f64..=1.0) {
            let x = ((n as f64) * frac).floor() as u64;
            let (lo, hi) = wilson(x, n, Z95).unwrap();
            let p = x as f64 / n as f64;
            prop_assert!(0.0 <= lo && lo <= p + 1e-12 && p <= hi + 1e-12 && hi <= 1.0);
        }
    }

    #[test]
    fn paired_counts_and_difference() {
        let p = Paired::from_pairs([(true, true), (true, false), (false, true), (false, true)]);
        assert_eq!(
            p,
            Paired {
                both_right: 1,
                first_only: 1,
                second_only: 2,
                both_wrong: 0
            }
        );
        assert_eq!(p.difference(), Some(0.25));
        assert_eq!(Paired::default().difference(), None);
    }

    #[test]
    fn mean_and_median() {
        assert_eq!(mean(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(mean(&[1.0, 2.0]), Some(1.5));
    }
}
