//! `reflect eval --report FILE.html`: one self-contained page (no scripts, nothing fetched):
//! the title, the summary as a table, then two charts drawn by plotters as inline SVG:
//! accuracy per arm with its 95% interval, and thinking tokens against correctness. Readable
//! in a 1200-pixel window and printable (print styles keep each chart on one page).

use super::results::Record;
use super::summary::{self, Summary};
use plotters::prelude::*;

/// Chart size in pixels; the charts come after the summary, one under the other.
pub const CHART: (u32, u32) = (760, 320);

const BAR: RGBColor = RGBColor(0x44, 0x77, 0xAA);
const RIGHT: RGBColor = RGBColor(0x22, 0x99, 0x33);
const WRONG: RGBColor = RGBColor(0xCC, 0x33, 0x11);

const STYLE: &str = "
body { margin: 0 auto; max-width: 1100px; padding: 16px 24px; font-family: sans-serif;
       background: #fff; color: #111; line-height: 1.4; }
h1 { font-size: 1.6em; margin: 0 0 12px; }
table { border-collapse: collapse; margin: 0 0 12px; font-size: 14px; }
th, td { border: 1px solid #bbb; padding: 4px 10px; text-align: left; vertical-align: top; }
thead th { background: #eee; }
tbody th { font-weight: normal; white-space: nowrap; }
td { font-variant-numeric: tabular-nums; }
figure { margin: 16px 0; }
figure svg { display: block; max-width: 100%; height: auto; }
@media print {
  @page { margin: 15mm; }
  body { max-width: none; padding: 0; font-size: 11pt; }
  table { font-size: 10pt; }
  thead th { background: none; }
  table, figure { break-inside: avoid; page-break-inside: avoid; }
}
";

/// The page.
pub fn render(title: &str, s: &Summary, records: &[Record]) -> Result<String, String> {
    let accuracy = accuracy_chart(s)?;
    let thinking = thinking_chart(s, records)?;
    let title = escape(title);
    let table = summary_table(s);
    let comparisons: String = summary::comparisons(s)
        .iter()
        .map(|c| format!("<p class=\"comparison\">{}</p>\n", escape(c)))
        .collect();
    Ok(format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>reflect eval: {title}</title>
<style>{STYLE}</style>
</head>
<body>
<h1>reflect eval: {title}</h1>
{table}{comparisons}<p>Accuracy is judged on the answer (the output section) alone; the bars show each arm's accuracy
and the whiskers its 95% Wilson interval. The dots show each answer's thinking tokens, green
when right and red when wrong.</p>
<figure id="accuracy">{accuracy}</figure>
<figure id="thinking">{thinking}</figure>
</body>
</html>
"#
    ))
}

/// The summary as an HTML table: a column per arm, a row per figure.
fn summary_table(s: &Summary) -> String {
    let head: String = s
        .arms
        .iter()
        .map(|a| format!("<th scope=\"col\">{}</th>", escape(&a.arm)))
        .collect();
    let body: String = summary::rows(s)
        .iter()
        .map(|(label, cells)| {
            let cells: String = cells
                .iter()
                .map(|c| format!("<td>{}</td>", escape(c)))
                .collect();
            format!("<tr><th scope=\"row\">{}</th>{cells}</tr>\n", escape(label))
        })
        .collect();
    format!(
        "<table id=\"summary\">\n<thead><tr><th scope=\"col\">arm</th>{head}</tr></thead>\n<tbody>\n{body}</tbody>\n</table>\n"
    )
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn err(e: impl std::fmt::Display) -> String {
    format!("cannot draw the chart: {e}")
}

/// Bars of accuracy per arm with the Wilson interval as whiskers.
fn accuracy_chart(s: &Summary) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, CHART).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let n = s.arms.len().max(1) as f64;
        let mut chart = ChartBuilder::on(&root)
            .caption("Accuracy per arm (95% Wilson interval)", ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(30)
            .y_label_area_size(50)
            .build_cartesian_2d(0f64..n, 0f64..100f64)
            .map_err(err)?;
        let names: Vec<String> = s.arms.iter().map(|a| a.arm.clone()).collect();
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(names.len().max(1) * 2 + 1)
            .x_label_formatter(&|x| {
                let i = x.floor() as usize;
                if (x - i as f64 - 0.5).abs() < 1e-6 {
                    names.get(i).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .y_desc("accuracy, %")
            .draw()
            .map_err(err)?;
        chart
            .draw_series(s.arms.iter().enumerate().filter_map(|(i, a)| {
                let acc = a.accuracy? * 100.0;
                let x = i as f64;
                Some(Rectangle::new(
                    [(x + 0.2, 0.0), (x + 0.8, acc)],
                    BAR.filled(),
                ))
            }))
            .map_err(err)?;
        for (i, a) in s.arms.iter().enumerate() {
            let Some((lo, hi)) = a.interval else { continue };
            let (lo, hi, x) = (lo * 100.0, hi * 100.0, i as f64 + 0.5);
            let whisker = |y: f64| {
                PathElement::new(vec![(x - 0.08, y), (x + 0.08, y)], BLACK.stroke_width(2))
            };
            chart
                .draw_series([
                    PathElement::new(vec![(x, lo), (x, hi)], BLACK.stroke_width(2)),
                    whisker(lo),
                    whisker(hi),
                ])
                .map_err(err)?;
        }
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// One row per arm: each answer's thinking tokens, green when right, red when wrong.
fn thinking_chart(s: &Summary, records: &[Record]) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, CHART).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let arms: Vec<String> = s.arms.iter().map(|a| a.arm.clone()).collect();
        let ours: Vec<(usize, &Record)> = records
            .iter()
            .filter_map(|r| Some((arms.iter().position(|a| *a == r.arm)?, r)))
            .collect();
        let most = ours
            .iter()
            .map(|(_, r)| r.thinking_tokens)
            .max()
            .unwrap_or(0)
            .max(1) as f64;
        let rows = arms.len().max(1) as f64;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "Thinking tokens, right and wrong answers",
                ("sans-serif", 18),
            )
            .margin(12)
            .x_label_area_size(30)
            .y_label_area_size(140)
            .build_cartesian_2d(0f64..most * 1.05, 0f64..rows)
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(arms.len().max(1) * 2 + 1)
            .y_label_formatter(&|y| {
                let i = y.floor() as usize;
                if (y - i as f64 - 0.5).abs() < 1e-6 {
                    arms.get(i).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .x_desc("thinking tokens")
            .draw()
            .map_err(err)?;
        // Right answers above the row's middle, wrong ones below, spread a little so that equal
        // counts do not hide each other.
        chart
            .draw_series(ours.iter().enumerate().map(|(k, (i, r))| {
                let spread = (k % 5) as f64 * 0.04;
                let (y, colour) = if r.correct {
                    (*i as f64 + 0.62 + spread, RIGHT)
                } else {
                    (*i as f64 + 0.2 + spread, WRONG)
                };
                Circle::new((r.thinking_tokens as f64, y), 5, colour.filled())
            }))
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::summary::summarise;

    fn rec(id: &str, arm: &str, correct: bool, thinking: u32) -> Record {
        Record {
            id: id.into(),
            arm: arm.into(),
            answer: "<b>4</b>".into(),
            correct,
            why: String::new(),
            no_answer: false,
            stop_reason: "output_closed".into(),
            thinking_tokens: thinking,
            reflection_tokens: 0,
            output_tokens: 1,
            reflections: 0,
            time_ms: 1,
            cost: None,
            seed: None,
        }
    }

    #[test]
    fn the_page_is_self_contained_with_both_charts() {
        let arms = vec!["a<x>".to_string(), "b".to_string()];
        let ids = vec!["q1".to_string(), "q2".to_string()];
        let records = vec![
            rec("q1", "a<x>", true, 10),
            rec("q2", "a<x>", false, 30),
            rec("q1", "b", true, 5),
            rec("q2", "b", true, 7),
        ];
        let s = summarise(&arms, &ids, &records);
        let page = render("t & t", &s, &records).unwrap();
        assert!(!page.contains("<script"), "no scripts");
        assert_eq!(
            page.matches("http").count(),
            page.matches("http://www.w3.org/2000/svg").count(),
            "nothing fetched: the only URL is the SVG namespace"
        );
        assert_eq!(page.matches("<svg").count(), 2);
        // Two bars, four dots: three green, one red.
        assert_eq!(page.matches("fill=\"#4477AA\"").count(), 2, "{page}");
        assert_eq!(page.matches("<circle").count(), 4);
        assert_eq!(page.matches("fill=\"#229933\"").count(), 3);
        assert_eq!(page.matches("fill=\"#CC3311\"").count(), 1);
        assert!(page.contains("a&lt;x&gt;") && page.contains("t &amp; t"));
        assert!(!page.contains("a<x>"), "names are escaped");
    }

    /// Title first, then the summary as a table (no preformatted text), then the charts; and
    /// print styles.
    #[test]
    fn the_title_comes_first_then_the_summary_table_then_the_charts() {
        let arms = vec!["reflection".to_string(), "plain".to_string()];
        let ids = vec!["q1".to_string()];
        let records = vec![
            rec("q1", "reflection", true, 10),
            rec("q1", "plain", false, 3),
        ];
        let s = summarise(&arms, &ids, &records);
        let page = render("q.jsonl", &s, &records).unwrap();
        let at = |needle: &str| {
            page.find(needle)
                .unwrap_or_else(|| panic!("{needle} missing: {page}"))
        };
        let order = [
            at("<h1>reflect eval: q.jsonl</h1>"),
            at("<table id=\"summary\">"),
            at("<figure id=\"accuracy\">"),
            at("<figure id=\"thinking\">"),
        ];
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}: {page}");
        assert!(!page.contains("<pre"), "no preformatted block");
        // Every figure of the text table is a row, with a cell per arm.
        assert!(page.contains(
            "<thead><tr><th scope=\"col\">arm</th><th scope=\"col\">reflection</th><th scope=\"col\">plain</th></tr></thead>"
        ));
        for (label, cells) in summary::rows(&s) {
            let row = format!(
                "<tr><th scope=\"row\">{}</th>{}</tr>",
                escape(label),
                cells
                    .iter()
                    .map(|c| format!("<td>{}</td>", escape(c)))
                    .collect::<String>()
            );
            assert!(page.contains(&row), "{row} missing");
        }
        assert!(page.contains("<p class=\"comparison\">plain vs reflection ("));
        assert!(page.contains("@media print"), "printable");
        assert!(page.contains("max-width: 1100px"), "readable at 1200 px");
    }
}
