//! Behaviour through the public API: holdback, channel tracking, summary, stop after output,
//! finish, reflection numbering, tag reports, fences, bulk emission.

use super::super::check::{self, Piece};
use super::super::*;
use super::*;

#[test]
fn holdback_is_minimal_and_released_by_next_piece() {
    let mut router = Router::new(RouterConfig::default());
    let mut c = Collected::default();
    router.push_text("if a <", &mut c);
    assert_eq!((router.held_len(), c.output.as_str()), (1, "if a"));
    router.push_text(" b", &mut c);
    assert_eq!((router.held_len(), c.output.as_str()), (0, "if a < b"));
    router.push_text(" </reflectio", &mut c);
    assert_eq!(router.held_len(), "</reflectio".len());
    assert_eq!(router.max_tag_len(), "</reflection>".len());
    router.push_text("n>", &mut c);
    assert_eq!(router.held_len(), 0);
    assert_eq!(c.anomalies, [anomaly("stray </reflection>")]);
    router.push_text("<o<thinki", &mut c);
    assert_eq!(router.held_len(), "<thinki".len());
    assert_eq!(c.output, "if a < b <o");
}

#[test]
fn channel_follows_blocks() {
    let mut router = Router::new(RouterConfig::default());
    let mut c = Collected::default();
    assert_eq!(router.channel(), Channel::Output);
    router.push_text("<thinking>", &mut c);
    assert_eq!(router.channel(), Channel::Thinking);
    router.push_tag(REFL, &mut c);
    assert_eq!(router.channel(), Channel::Reflection);
    router.push_text("</reflection><output>", &mut c);
    assert_eq!(router.channel(), Channel::Output);
    assert!(!router.output_closed());
    router.push_text("</output>", &mut c);
    assert!(router.output_closed());
}

#[test]
fn summary_reports_missing_answer_and_open_blocks() {
    let (_, s) = route_all(&RouterConfig::default(), "<thinking>a<reflection>b");
    assert_eq!(
        s,
        Summary {
            answer_missing: true,
            open_blocks: vec![Channel::Thinking, Channel::Reflection],
            output_closed: false,
            reflections: 1,
            anomalies: 2,
        }
    );
    let (c, s) = route_all(&RouterConfig::default(), REFLECTION_TRANSCRIPT);
    assert_eq!(
        s,
        Summary {
            answer_missing: false,
            open_blocks: vec![],
            output_closed: true,
            reflections: 1,
            anomalies: 0,
        }
    );
    assert_eq!(c.output, "2 + 2 = 4");
    let (_, s) = route_all(&RouterConfig::default(), "<output> \n </output>");
    assert!(s.answer_missing && s.output_closed);
}

#[test]
fn thinking_is_never_moved_into_the_answer() {
    let (c, s) = route_all(&RouterConfig::default(), "<thinking>The answer is 4");
    assert_eq!(
        (c.thinking.as_str(), c.output.as_str()),
        ("The answer is 4", "")
    );
    assert!(s.answer_missing);
}

#[test]
fn stop_after_output_reports_ignored_input() {
    let config = config(Cfg::StopAfterOutput);
    let mut router = Router::new(config);
    let mut rec = check::Recorder::default();
    router.push_text("<output>a</output>tail", &mut rec);
    router.push_tag(THINK, &mut rec);
    assert!(router.stopped());
    assert_eq!(router.ignored_bytes(), "tail<thinking>".len());
    let ignored: String = rec
        .events
        .iter()
        .filter_map(|e| match e {
            check::Event::Ignored(t) => Some(t.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(ignored, "tail<thinking>");
}

#[test]
fn finish_is_idempotent_and_ends_the_stream() {
    let mut router = Router::new(RouterConfig::default());
    let mut c = Collected::default();
    router.push_text("<thinking>x </thi", &mut c);
    let first = router.finish(&mut c);
    let snapshot = c.clone();
    assert_eq!(router.finish(&mut c), first);
    router.push_text("more", &mut c);
    assert_eq!(c, snapshot);
    assert_eq!(c.thinking, "x </thi");
}

#[test]
fn reflection_events_are_numbered_and_paired() {
    let o = check::feed(
        &RouterConfig::default(),
        &pieces(&[T("<reflection>a</reflection><thinking><reflection>b")]),
    );
    let marks: Vec<_> = o
        .events
        .iter()
        .filter(|e| {
            matches!(
                e,
                check::Event::ReflectionStart(_) | check::Event::ReflectionEnd(_)
            )
        })
        .cloned()
        .collect();
    use check::Event::{ReflectionEnd as E, ReflectionStart as S};
    assert_eq!(marks, [S(1), E(1), S(2), E(2)]);
}

#[test]
fn tag_events_report_the_text_that_formed_them() {
    let o = check::feed(
        &RouterConfig::default(),
        &pieces(&[T("<thin"), T("king>a</reflection>"), K(END_THINK)]),
    );
    let tags: Vec<_> = o
        .events
        .iter()
        .filter_map(|e| match e {
            check::Event::Tag(t, s) => Some((*t, s.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(
        tags,
        [
            (THINK, "<thinking>"),
            (END_REFL, "</reflection>"),
            (END_THINK, "</thinking>")
        ]
    );
}

#[test]
fn in_code_fence_only_in_output() {
    let mut router = Router::new(RouterConfig::default());
    let mut c = Collected::default();
    router.push_text("```\n<thi", &mut c);
    assert!(router.in_code_fence());
    assert_eq!(router.held_len(), 0);
    router.push_tag(THINK, &mut c);
    assert!(!router.in_code_fence());
    router.push_text("```\n", &mut c);
    assert!(!router.in_code_fence());
}

#[test]
fn long_text_is_emitted_in_bulk() {
    // Linear behaviour: one call per literal run, whatever its length.
    let text = "x".repeat(1 << 20) + "<thinking>" + &"y".repeat(1 << 20);
    let o = check::feed(&RouterConfig::default(), &[Piece::Text(text)]);
    let texts = o
        .events
        .iter()
        .filter(|e| matches!(e, check::Event::Text(..)))
        .count();
    assert_eq!(texts, 2);
    assert_eq!(o.collected.thinking.len(), 1 << 20);
}
