//! The summary of `reflect eval`, pure: per arm, accuracy with its 95% Wilson interval,
//! answers missing, the reflection rate and accuracy with and without a reflection, tokens per
//! channel, time and cost; between arms, the paired difference and McNemar's exact p-value.
//! Rendered as the table on stdout (and data for the HTML report).

use super::results::Record;
use super::stats::{self, Paired, Z95};
use serde::Serialize;
use std::collections::HashMap;

/// Mean and median of one count.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Spread {
    pub mean: f64,
    pub median: f64,
}

impl Spread {
    fn of(xs: &[f64]) -> Option<Spread> {
        Some(Spread {
            mean: stats::mean(xs)?,
            median: stats::median(xs)?,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ArmSummary {
    pub arm: String,
    pub n: u64,
    pub correct: u64,
    pub accuracy: Option<f64>,
    /// The 95% Wilson interval.
    pub interval: Option<(f64, f64)>,
    pub no_answer: u64,
    /// Answers with at least one reflection, and how many of them were right.
    pub reflected: u64,
    pub reflected_correct: u64,
    pub unreflected_correct: u64,
    pub thinking: Option<Spread>,
    pub reflection: Option<Spread>,
    pub output: Option<Spread>,
    pub time_ms: u64,
    /// The sum of the costs known; `None` when none was.
    pub cost: Option<f64>,
}

impl ArmSummary {
    pub fn reflection_rate(&self) -> Option<f64> {
        ratio(self.reflected, self.n)
    }
    pub fn accuracy_reflected(&self) -> Option<f64> {
        ratio(self.reflected_correct, self.reflected)
    }
    pub fn accuracy_unreflected(&self) -> Option<f64> {
        ratio(self.unreflected_correct, self.n - self.reflected)
    }
}

fn ratio(a: u64, b: u64) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

/// Two arms on the questions both answered.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Comparison {
    pub first: String,
    pub second: String,
    pub paired: Paired,
    /// The second arm's accuracy minus the first's, on the paired questions.
    pub difference: Option<f64>,
    pub p_value: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    pub arms: Vec<ArmSummary>,
    /// Each arm after the first against the first.
    pub comparisons: Vec<Comparison>,
}

/// Summarises the records of `arms` on the questions `ids` (other records are left out).
pub fn summarise(arms: &[String], ids: &[String], records: &[Record]) -> Summary {
    let by_key: HashMap<(&str, &str), &Record> = records
        .iter()
        .map(|r| ((r.id.as_str(), r.arm.as_str()), r))
        .collect();
    let of_arm = |arm: &str| -> Vec<&Record> {
        ids.iter()
            .filter_map(|id| by_key.get(&(id.as_str(), arm)).copied())
            .collect()
    };
    let summaries = arms
        .iter()
        .map(|arm| {
            let rs = of_arm(arm);
            let n = rs.len() as u64;
            let correct = rs.iter().filter(|r| r.correct).count() as u64;
            let reflected: Vec<&&Record> = rs.iter().filter(|r| r.reflections > 0).collect();
            let tokens = |f: fn(&Record) -> u32| {
                Spread::of(&rs.iter().map(|r| f(r) as f64).collect::<Vec<_>>())
            };
            let costs: Vec<f64> = rs.iter().filter_map(|r| r.cost).collect();
            ArmSummary {
                arm: arm.clone(),
                n,
                correct,
                accuracy: ratio(correct, n),
                interval: stats::wilson(correct, n, Z95),
                no_answer: rs.iter().filter(|r| r.no_answer).count() as u64,
                reflected: reflected.len() as u64,
                reflected_correct: reflected.iter().filter(|r| r.correct).count() as u64,
                unreflected_correct: rs
                    .iter()
                    .filter(|r| r.reflections == 0 && r.correct)
                    .count() as u64,
                thinking: tokens(|r| r.thinking_tokens),
                reflection: tokens(|r| r.reflection_tokens),
                output: tokens(|r| r.output_tokens),
                time_ms: rs.iter().map(|r| r.time_ms).sum(),
                cost: (!costs.is_empty()).then(|| costs.iter().sum()),
            }
        })
        .collect();
    let comparisons = arms
        .iter()
        .skip(1)
        .map(|second| {
            let first = &arms[0];
            let paired = Paired::from_pairs(ids.iter().filter_map(|id| {
                let a = by_key.get(&(id.as_str(), first.as_str()))?;
                let b = by_key.get(&(id.as_str(), second.as_str()))?;
                Some((a.correct, b.correct))
            }));
            Comparison {
                first: first.clone(),
                second: second.clone(),
                difference: paired.difference(),
                p_value: paired.mcnemar_p(),
                paired,
            }
        })
        .collect();
    Summary {
        arms: summaries,
        comparisons,
    }
}

fn pct(x: Option<f64>) -> String {
    x.map_or("–".into(), |x| format!("{:.1}%", x * 100.0))
}

fn spread(s: Option<Spread>) -> String {
    s.map_or("–".into(), |s| {
        format!("{:.1} / {}", s.mean, trim_num(s.median))
    })
}

fn trim_num(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}

fn seconds(ms: f64) -> String {
    if ms >= 100_000.0 {
        format!("{:.0} s", ms / 1000.0)
    } else {
        format!("{:.2} s", ms / 1000.0)
    }
}

/// How one row of the table shows an arm.
type Cell = Box<dyn Fn(&ArmSummary) -> String>;

/// The summary's table: a row per figure (its label, then a cell per arm). The text table
/// and the HTML report both show these.
pub fn rows(s: &Summary) -> Vec<(&'static str, Vec<String>)> {
    let rows: Vec<(&'static str, Cell)> = vec![
        ("questions", Box::new(|a| a.n.to_string())),
        ("correct", Box::new(|a| a.correct.to_string())),
        (
            "accuracy (95% CI)",
            Box::new(|a| match a.interval {
                Some((lo, hi)) => {
                    format!("{} ({:.1}–{:.1}%)", pct(a.accuracy), lo * 100.0, hi * 100.0)
                }
                None => "–".into(),
            }),
        ),
        ("no answer", Box::new(|a| a.no_answer.to_string())),
        (
            "reflection rate",
            Box::new(|a| format!("{} ({})", pct(a.reflection_rate()), a.reflected)),
        ),
        (
            "accuracy, reflected",
            Box::new(|a| {
                format!(
                    "{} ({}/{})",
                    pct(a.accuracy_reflected()),
                    a.reflected_correct,
                    a.reflected
                )
            }),
        ),
        (
            "accuracy, not reflected",
            Box::new(|a| {
                format!(
                    "{} ({}/{})",
                    pct(a.accuracy_unreflected()),
                    a.unreflected_correct,
                    a.n - a.reflected
                )
            }),
        ),
        (
            "thinking tokens (mean / median)",
            Box::new(|a| spread(a.thinking)),
        ),
        (
            "reflection tokens (mean / median)",
            Box::new(|a| spread(a.reflection)),
        ),
        (
            "output tokens (mean / median)",
            Box::new(|a| spread(a.output)),
        ),
        (
            "time (total / per question)",
            Box::new(|a| {
                if a.n == 0 {
                    "–".into()
                } else {
                    format!(
                        "{} / {}",
                        seconds(a.time_ms as f64),
                        seconds(a.time_ms as f64 / a.n as f64)
                    )
                }
            }),
        ),
        (
            "cost",
            Box::new(|a| a.cost.map_or("–".into(), crate::llm::format_usd)),
        ),
    ];
    rows.into_iter()
        .map(|(label, f)| (label, s.arms.iter().map(f).collect()))
        .collect()
}

/// One sentence per comparison of an arm with the first.
pub fn comparisons(s: &Summary) -> Vec<String> {
    s.comparisons
        .iter()
        .map(|c| {
            let p = &c.paired;
            let diff = c
                .difference
                .map_or("–".into(), |d| format!("{:+.1} points", d * 100.0));
            format!(
                "{} vs {} ({} questions in both): {diff}; right in {} only {}, in {} only {}, in both {}, in neither {}; McNemar exact p = {}",
                c.second,
                c.first,
                p.n(),
                c.first,
                p.first_only,
                c.second,
                p.second_only,
                p.both_right,
                p.both_wrong,
                format_p(c.p_value)
            )
        })
        .collect()
}

/// The summary as a table for people: a column per arm, then one line per comparison.
pub fn render(s: &Summary) -> String {
    let table = rows(s);
    let label_w = table
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0)
        .max("arm".len());
    let cells: Vec<&Vec<String>> = table.iter().map(|(_, c)| c).collect();
    let widths: Vec<usize> = (0..s.arms.len())
        .map(|i| {
            cells
                .iter()
                .map(|r| r[i].chars().count())
                .chain([s.arms[i].arm.chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    let line = |label: &str, values: &[String]| {
        let mut l = format!("{label:<label_w$}");
        for (v, w) in values.iter().zip(&widths) {
            l.push_str(&format!("  {v:<w$}"));
        }
        l.trim_end().to_string() + "\n"
    };
    let names: Vec<String> = s.arms.iter().map(|a| a.arm.clone()).collect();
    out.push_str(&line("arm", &names));
    for (label, values) in &table {
        out.push_str(&line(label, values));
    }
    for c in comparisons(s) {
        out.push_str(&format!("\n{c}\n"));
    }
    out
}

/// A p-value with three significant digits, or "< 0.0001".
pub fn format_p(p: f64) -> String {
    if p < 1e-4 {
        "< 0.0001".into()
    } else {
        format!("{p:.4}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(id: &str, arm: &str, correct: bool, reflections: usize, thinking: u32) -> Record {
        Record {
            id: id.into(),
            arm: arm.into(),
            answer: String::new(),
            correct,
            why: String::new(),
            no_answer: !correct && thinking == 0,
            stop_reason: "output_closed".into(),
            thinking_tokens: thinking,
            reflection_tokens: 0,
            output_tokens: 2,
            reflections,
            time_ms: 500,
            cost: None,
            seed: None,
        }
    }

    #[test]
    fn two_arms_summarised_and_compared() {
        let arms = vec!["a".to_string(), "b".to_string()];
        let ids: Vec<String> = ["q1", "q2", "q3", "q4"].map(String::from).to_vec();
        let records = vec![
            rec("q1", "a", true, 1, 10),
            rec("q2", "a", false, 0, 0),
            rec("q3", "a", true, 0, 20),
            rec("q4", "a", false, 1, 30),
            rec("q1", "b", true, 0, 10),
            rec("q2", "b", true, 0, 10),
            rec("q3", "b", false, 0, 10),
            rec("q4", "b", true, 0, 10),
            // Not a question of this file: left out.
            rec("old", "a", true, 0, 10),
        ];
        let s = summarise(&arms, &ids, &records);
        let a = &s.arms[0];
        assert_eq!((a.n, a.correct, a.no_answer, a.reflected), (4, 2, 1, 2));
        assert_eq!((a.reflected_correct, a.unreflected_correct), (1, 1));
        assert_eq!(
            a.thinking.unwrap(),
            Spread {
                mean: 15.0,
                median: 15.0
            }
        );
        let c = &s.comparisons[0];
        assert_eq!(
            c.paired,
            Paired {
                both_right: 1,
                first_only: 1,
                second_only: 2,
                both_wrong: 0
            }
        );
        assert_eq!(c.difference, Some(0.25));
        // 3 discordant pairs, min 1: 2 * (1 + 3) / 8 = 1.
        assert_eq!(c.p_value, 1.0);
        let table = render(&s);
        assert_eq!(
            table,
            "\
arm                                a                   b
questions                          4                   4
correct                            2                   3
accuracy (95% CI)                  50.0% (15.0–85.0%)  75.0% (30.1–95.4%)
no answer                          1                   0
reflection rate                    50.0% (2)           0.0% (0)
accuracy, reflected                50.0% (1/2)         – (0/0)
accuracy, not reflected            50.0% (1/2)         75.0% (3/4)
thinking tokens (mean / median)    15.0 / 15           10.0 / 10
reflection tokens (mean / median)  0.0 / 0             0.0 / 0
output tokens (mean / median)      2.0 / 2             2.0 / 2
time (total / per question)        2.00 s / 0.50 s     2.00 s / 0.50 s
cost                               –                   –

b vs a (4 questions in both): +25.0 points; right in a only 1, in b only 2, in both 1, in neither 0; McNemar exact p = 1.0000
"
        );
    }
}
