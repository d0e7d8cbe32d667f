//! Live progress of `reflect eval` on stderr: on a terminal one line redrawn in place (a bar,
//! each arm's running accuracy, the ETA, the cost so far); elsewhere a plain line per judged
//! answer. The text is made by pure functions of the counts and the time elapsed.

use std::time::Duration;

/// What has been judged so far.
#[derive(Clone, Debug, Default)]
pub struct Counts {
    /// This run's jobs.
    pub total: usize,
    pub done: usize,
    /// Per arm: (correct, judged), resumed results included.
    pub arms: Vec<(String, u64, u64)>,
    pub cost: Option<f64>,
}

impl Counts {
    pub fn judged(&mut self, arm: usize, correct: bool, cost: Option<f64>) {
        if let Some(a) = self.arms.get_mut(arm) {
            a.1 += u64::from(correct);
            a.2 += 1;
        }
        if let Some(c) = cost {
            *self.cost.get_or_insert(0.0) += c;
        }
    }

    fn accuracies(&self) -> String {
        self.arms
            .iter()
            .map(|(name, right, n)| match n {
                0 => format!("{name} –"),
                n => format!("{name} {:.1}%", *right as f64 * 100.0 / *n as f64),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn eta(&self, elapsed: Duration) -> Option<Duration> {
        (self.done > 0).then(|| elapsed.mul_f64((self.total - self.done) as f64 / self.done as f64))
    }

    fn cost_text(&self) -> String {
        self.cost
            .map(|c| format!(" · {}", crate::llm::format_usd(c)))
            .unwrap_or_default()
    }
}

/// The line a terminal shows, `width` columns at most.
pub fn bar_line(c: &Counts, elapsed: Duration, width: usize) -> String {
    const BAR: usize = 20;
    let filled = (c.done * BAR).checked_div(c.total).unwrap_or(BAR);
    let eta = c.eta(elapsed).map_or("ETA –".into(), |d| {
        format!("ETA {}", crate::hub::progress::short_duration(d))
    });
    let line = format!(
        "[{}{}] {}/{} · {} · {eta}{}",
        "#".repeat(filled),
        "·".repeat(BAR - filled),
        c.done,
        c.total,
        c.accuracies(),
        c.cost_text()
    );
    line.chars().take(width.max(10)).collect()
}

/// The plain line for one judged answer, when stderr is not a terminal.
pub fn log_line(c: &Counts, id: &str, arm: &str, verdict: &str, elapsed: Duration) -> String {
    let eta = c.eta(elapsed).map_or(String::new(), |d| {
        format!(", ETA {}", crate::hub::progress::short_duration(d))
    });
    format!(
        "reflect: eval {}/{}: {id} [{arm}] {verdict}; accuracy {}{eta}{}",
        c.done,
        c.total,
        c.accuracies(),
        c.cost_text()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts() -> Counts {
        let mut c = Counts {
            total: 8,
            done: 2,
            arms: vec![("a".into(), 0, 0), ("b".into(), 0, 0)],
            cost: None,
        };
        c.judged(0, true, None);
        c.judged(1, false, Some(0.002));
        c
    }

    #[test]
    fn the_bar_shows_progress_accuracy_eta_and_cost() {
        let line = bar_line(&counts(), Duration::from_secs(10), 200);
        assert_eq!(
            line,
            "[#####···············] 2/8 · a 100.0%, b 0.0% · ETA 30s · $0.00200"
        );
        assert_eq!(
            bar_line(&counts(), Duration::from_secs(10), 12)
                .chars()
                .count(),
            12
        );
    }

    #[test]
    fn a_log_line_names_the_question_and_arm() {
        let line = log_line(
            &counts(),
            "q7",
            "b",
            "wrong (number: 5 is not 4)",
            Duration::from_secs(90),
        );
        assert_eq!(
            line,
            "reflect: eval 2/8: q7 [b] wrong (number: 5 is not 4); accuracy a 100.0%, b 0.0%, ETA 4m30s · $0.00200"
        );
    }
}
