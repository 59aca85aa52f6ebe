//! The decisions chart: stacked bars by verdict, drawn on the server as SVG (no chart library, no
//! script). Verdicts differ by pattern as well as colour (allows solid, approvals dotted, denials
//! striped), every bar says its numbers when hovered or focused (and to screen readers), and a
//! table beside it gives the same figures as text.

use charter_policy::Verdict;
use charter_store::{Bucket, Window};
use leptos::prelude::*;

use crate::components::ui::{counted, format_count, format_date};

const WIDTH: i64 = 720;
const HEIGHT: i64 = 220;
/// Room for the axis's figures on the left and the times below.
const LEFT: i64 = 44;
const BOTTOM: i64 = 24;
/// Room above the tallest bar for its figure.
const TOP: i64 = 18;

/// The verdicts from the bottom of a bar up, with how each is drawn.
const LAYERS: [(Verdict, &str, &str); 3] = [
    (Verdict::Allow, "fill-emerald-500", "allowed"),
    (Verdict::RequireApproval, "url(#chart-dots)", "awaiting approval"),
    (Verdict::Deny, "url(#chart-stripes)", "denied"),
];

/// The patterns that tell the verdicts apart without colour.
const PATTERNS: &str = concat!(
    r##"<defs><pattern id="chart-dots" width="6" height="6" patternUnits="userSpaceOnUse">"##,
    r##"<rect width="6" height="6" fill="#fbbf24"/><circle cx="3" cy="3" r="1.4" fill="#78350f"/></pattern>"##,
    r##"<pattern id="chart-stripes" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">"##,
    r##"<rect width="6" height="6" fill="#e11d48"/><rect width="2" height="6" fill="#ffffff"/></pattern></defs>"##
);

/// When a bar starts, as its axis and its description name it.
pub fn bar_time(window: Window, start_ms: i64) -> String {
    let minutes = start_ms.div_euclid(60_000).rem_euclid(24 * 60);
    match window {
        Window::Hour | Window::Day => format!("{:02}:{:02}", minutes / 60, minutes % 60),
        Window::Month => format_date(start_ms),
    }
}

/// What one bar says to a screen reader and on hover: its time and its figures.
pub fn bar_description(window: Window, bucket: &Bucket) -> String {
    let counts = &bucket.counts;
    format!(
        "{} UTC: {}, {} allowed, {} awaiting approval, {} denied",
        bar_time(window, bucket.start_ms),
        counted(counts.total(), "decision", "decisions"),
        format_count(counts.allow),
        format_count(counts.require_approval),
        format_count(counts.deny)
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The chart's SVG markup.
pub fn chart_svg(window: Window, series: &[Bucket]) -> String {
    let tallest = series.iter().map(|bucket| bucket.counts.total()).max().unwrap_or(0).max(1);
    let plot_height = HEIGHT - BOTTOM - TOP;
    let slot = (WIDTH - LEFT) as f64 / series.len().max(1) as f64;
    let bar_width = (slot * 0.8).max(1.0);
    let mut svg = format!(
        r#"<svg viewBox="0 0 {WIDTH} {HEIGHT}" class="w-full h-auto" role="group" aria-label="Decisions by verdict, {}" data-testid="chart-svg">{PATTERNS}"#,
        window.label().to_lowercase()
    );
    // The axis: zero and the tallest bar's figure.
    let base = HEIGHT - BOTTOM;
    svg.push_str(&format!(
        r#"<line x1="{LEFT}" y1="{base}" x2="{WIDTH}" y2="{base}" class="stroke-slate-300"/><text x="{}" y="{base}" text-anchor="end" class="fill-slate-500 text-[10px]">0</text><text x="{}" y="{}" text-anchor="end" class="fill-slate-500 text-[10px]">{}</text>"#,
        LEFT - 6,
        LEFT - 6,
        TOP + 4,
        format_count(tallest)
    ));
    for (index, bucket) in series.iter().enumerate() {
        let x = LEFT as f64 + index as f64 * slot + (slot - bar_width) / 2.0;
        let description = escape(&bar_description(window, bucket));
        svg.push_str(&format!(
            r#"<g tabindex="0" class="group focus:outline-none" aria-label="{description}" data-testid="chart-bar" data-total="{}"><rect x="{:.1}" y="{TOP}" width="{:.1}" height="{plot_height}" class="fill-transparent group-hover:fill-slate-100 group-focus:fill-slate-100 group-focus:stroke-indigo-500"/>"#,
            bucket.counts.total(),
            x - (slot - bar_width) / 2.0,
            slot,
        ));
        let mut top = base as f64;
        for (verdict, fill, _) in LAYERS {
            let count = bucket.counts.of(verdict);
            if count == 0 {
                continue;
            }
            let height = count as f64 / tallest as f64 * plot_height as f64;
            top -= height;
            let (class, paint) = if fill.starts_with("url(") { ("", fill) } else { (fill, "") };
            let paint = if paint.is_empty() { String::new() } else { format!(r#" fill="{paint}""#) };
            svg.push_str(&format!(r#"<rect x="{x:.1}" y="{top:.1}" width="{bar_width:.1}" height="{height:.1}" class="{class}"{paint}/>"#));
        }
        // The figure shows above the bar while it is hovered or focused.
        svg.push_str(&format!(
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" class="fill-slate-800 text-[11px] font-semibold opacity-0 group-hover:opacity-100 group-focus:opacity-100" aria-hidden="true">{}</text></g>"#,
            x + bar_width / 2.0,
            (top - 4.0).max(10.0),
            format_count(bucket.counts.total())
        ));
    }
    // Times under the first, middle and last bars.
    // The first and last are anchored at their outer edge so that neither is cut off.
    let last = series.len().saturating_sub(1);
    for (index, anchor) in [(0, "start"), (series.len() / 2, "middle"), (last, "end")] {
        if let Some(bucket) = series.get(index) {
            let x = match anchor {
                "start" => LEFT as f64 + index as f64 * slot,
                "end" => LEFT as f64 + (index + 1) as f64 * slot,
                _ => LEFT as f64 + index as f64 * slot + slot / 2.0,
            };
            svg.push_str(&format!(
                r#"<text x="{x:.1}" y="{}" text-anchor="{anchor}" class="fill-slate-500 text-[10px]">{}</text>"#,
                HEIGHT - 6,
                bar_time(window, bucket.start_ms)
            ));
        }
    }
    svg.push_str("</svg>");
    svg
}

/// The legend's swatch of one verdict, drawn as the bars draw it.
fn swatch(fill: &str) -> String {
    let (class, paint) = if fill.starts_with("url(") { ("", format!(r#" fill="{fill}""#)) } else { (fill, String::new()) };
    // The patterns are the chart's own (one set of ids per page).
    format!(r#"<svg viewBox="0 0 12 12" class="w-3 h-3" aria-hidden="true"><rect width="12" height="12" class="{class}"{paint}/></svg>"#)
}

/// The chart with its legend and its table.
#[component]
pub fn DecisionChart(window: Window, series: Vec<Bucket>) -> impl IntoView {
    let svg = chart_svg(window, &series);
    let rows = series
        .iter()
        .rev()
        .filter(|bucket| bucket.counts.total() > 0)
        .map(|bucket| {
            let counts = bucket.counts;
            view! {
                <tr class="border-t border-slate-100" data-testid="chart-row">
                    <td class="py-1 pr-4">{bar_time(window, bucket.start_ms)}</td>
                    <td class="py-1 pr-4 text-right">{format_count(counts.total())}</td>
                    <td class="py-1 pr-4 text-right">{format_count(counts.allow)}</td>
                    <td class="py-1 pr-4 text-right">{format_count(counts.require_approval)}</td>
                    <td class="py-1 text-right">{format_count(counts.deny)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <figure data-testid="decision-chart">
            <div inner_html=svg></div>
            <figcaption class="mt-2 flex flex-wrap gap-4 text-xs text-slate-600">
                {LAYERS.map(|(_, fill, label)| view! {
                    <span class="inline-flex items-center gap-1"><span inner_html=swatch(fill)></span>{label}</span>
                })}
                <span>"Times in UTC. Hover or focus a bar for its figures."</span>
            </figcaption>
            <details class="mt-3 text-sm">
                <summary class="cursor-pointer text-indigo-700">"Show as a table"</summary>
                <table class="mt-2 w-full text-left text-sm" data-testid="chart-table">
                    <thead class="text-xs uppercase text-slate-500">
                        <tr>
                            <th scope="col" class="pr-4">{if window == Window::Month { "Day" } else { "From" }}</th>
                            <th scope="col" class="pr-4 text-right">"Decisions"</th>
                            <th scope="col" class="pr-4 text-right">"Allowed"</th>
                            <th scope="col" class="pr-4 text-right">"Awaiting approval"</th>
                            <th scope="col" class="text-right">"Denied"</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </details>
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use charter_store::VerdictCounts;

    fn bucket(start_ms: i64, allow: i64, require_approval: i64, deny: i64) -> Bucket {
        Bucket { start_ms, counts: VerdictCounts { allow, deny, require_approval } }
    }

    fn check(window: Window, series: &[Bucket], expected: &[&str]) {
        let svg = chart_svg(window, series);
        for part in expected {
            assert!(svg.contains(part), "`{part}` missing from {svg}");
        }
        assert_eq!(svg.matches(r#"data-testid="chart-bar""#).count(), series.len());
    }

    #[test]
    fn bars_say_their_figures_and_stack_by_verdict() {
        let hour = 1_796_000_400_000; // the start of an hour
        check(
            Window::Day,
            &[bucket(hour, 3, 0, 1), bucket(hour + 3_600_000, 0, 0, 0), bucket(hour + 7_200_000, 1000, 2, 998)],
            &[
                "4 decisions, 3 allowed, 0 awaiting approval, 1 denied",
                "2,000 decisions, 1,000 allowed, 2 awaiting approval, 998 denied",
                r#"data-total="0""#,
                // The tallest bar sets the axis; denials are striped, approvals dotted.
                ">2,000</text>",
                r#"fill="url(#chart-stripes)""#,
                r#"fill="url(#chart-dots)""#,
            ],
        );
        check(Window::Month, &[bucket(1_795_478_400_000, 1, 0, 0)], &["2026-11-24 UTC: 1 decision, 1 allowed"]);
        check(Window::Hour, &[], &["Decisions by verdict, last hour"]);
    }
}
