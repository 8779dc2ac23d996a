//! The summaries of the JSON lines: percentiles and means of samples in
//! nanoseconds, reported in microseconds.

/// The `p`-th percentile (0 < p <= 100) of `sorted` by the nearest-rank
/// method: the smallest sample that at least p% of the samples are at
/// or below. Always one of the samples, never an interpolation: `None`
/// for no samples.
pub fn percentile(sorted: &[u64], p: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

/// Nanoseconds as microseconds, for JSON (null for no value).
pub fn us(ns: Option<u64>) -> serde_json::Value {
    match ns {
        Some(ns) => serde_json::Value::from(ns as f64 / 1000.0),
        None => serde_json::Value::Null,
    }
}

/// Percentiles and mean of a set of latencies, in nanoseconds.
#[derive(Debug, PartialEq)]
pub struct Latencies {
    pub p50: Option<u64>,
    pub p90: Option<u64>,
    pub p99: Option<u64>,
    pub mean: Option<u64>,
}

impl Latencies {
    pub fn of(mut ns: Vec<u64>) -> Self {
        ns.sort_unstable();
        let sum: u128 = ns.iter().map(|&x| u128::from(x)).sum();
        let mean = u128::try_from(ns.len())
            .ok()
            .filter(|&n| n > 0)
            .and_then(|n| u64::try_from(sum / n).ok());
        Self {
            p50: percentile(&ns, 50.0),
            p90: percentile(&ns, 90.0),
            p99: percentile(&ns, 99.0),
            mean,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 50.0), Some(50));
        assert_eq!(percentile(&v, 90.0), Some(90));
        assert_eq!(percentile(&v, 99.0), Some(99));
        assert_eq!(percentile(&v, 100.0), Some(100));
        assert_eq!(percentile(&[7], 99.0), Some(7));
        assert_eq!(percentile(&[], 50.0), None);
        // 10 samples: p99 is the largest, p50 the 5th.
        let v: Vec<u64> = (10..20).collect();
        assert_eq!(percentile(&v, 99.0), Some(19));
        assert_eq!(percentile(&v, 50.0), Some(14));
        assert_eq!(percentile(&v, 0.0), Some(10));
    }

    #[test]
    fn summary() {
        let l = Latencies::of(vec![3000, 1000, 2000]);
        assert_eq!(
            l,
            Latencies {
                p50: Some(2000),
                p90: Some(3000),
                p99: Some(3000),
                mean: Some(2000),
            }
        );
        assert_eq!(us(l.p50), serde_json::json!(2.0));
        let none = Latencies::of(Vec::new());
        assert_eq!(none.mean, None);
        assert_eq!(us(none.p99), serde_json::Value::Null);
    }
}
