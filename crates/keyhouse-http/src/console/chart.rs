//! The audit page's chart: token issuances and failures over time, drawn on
//! the server as inline SVG (no script, nothing for the CSP to allow). Pure
//! arithmetic over the events' times, so it is tested without a server.

use keyhouse_core::time_fmt::Timestamp;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 86_400_000;
/// Most buckets drawn (a longer range is cut at its end).
const MAX_BUCKETS: usize = 120;
/// Labels under the axis at most (every n-th bucket is labelled).
const MAX_LABELS: usize = 12;
/// The drawing's coordinate system (it scales to the page's width).
pub(crate) const WIDTH: u32 = 720;
pub(crate) const HEIGHT: u32 = 240;
const LEFT: u32 = 44;
const RIGHT: u32 = 8;
const TOP: u32 = 12;
const BOTTOM: u32 = 28;

/// What one event counts as in the chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `token.issued`, with the number of tokens it records (client
    /// credentials events summarize a commit batch).
    Issued(u64),
    /// Any event recorded as failed (`success: false`).
    Failed,
}

/// One time bucket: two bars side by side, and its row in the data table.
pub(crate) struct Bar {
    pub label: String,
    pub show_label: bool,
    pub label_x: u32,
    pub issued: u64,
    pub failed: u64,
    pub issued_x: u32,
    pub failed_x: u32,
    pub bar_w: u32,
    pub issued_y: u32,
    pub issued_h: u32,
    pub failed_y: u32,
    pub failed_h: u32,
}

/// A horizontal grid line with its count.
pub(crate) struct Tick {
    pub y: u32,
    pub value: u64,
}

/// The chart as the template draws it.
pub(crate) struct Chart {
    pub width: u32,
    pub height: u32,
    pub left: u32,
    pub right_x: u32,
    pub base_y: u32,
    pub bars: Vec<Bar>,
    pub ticks: Vec<Tick>,
    pub issued: u64,
    pub failed: u64,
    /// "per day" or "per hour".
    pub unit: &'static str,
    /// The events read stopped at the reading limit: counts may be low.
    pub truncated: bool,
}

/// A round upper bound for the axis (1, 2 or 5 times a power of ten).
fn nice_max(max: u64) -> u64 {
    let mut step = 1u64;
    loop {
        for m in [1, 2, 5] {
            let bound = step.saturating_mul(m);
            if bound >= max {
                return bound.max(1);
            }
        }
        step = step.saturating_mul(10);
    }
}

fn label(start: i64, bucket_ms: i64) -> String {
    let iso = Timestamp(start).to_iso();
    if bucket_ms == HOUR_MS {
        format!("{}:00", iso.get(11..13).unwrap_or_default())
    } else {
        iso.get(5..10).unwrap_or_default().to_owned()
    }
}

/// Buckets `events` between `from` and `until` (hours for up to two days,
/// else days) and lays out the bars.
pub(crate) fn build(
    from: Timestamp,
    until: Timestamp,
    events: &[(Timestamp, Kind)],
    truncated: bool,
) -> Chart {
    let span = (until.0 - from.0).max(1);
    let bucket_ms = if span <= 2 * DAY_MS { HOUR_MS } else { DAY_MS };
    let buckets = usize::try_from((span + bucket_ms - 1) / bucket_ms)
        .unwrap_or(MAX_BUCKETS)
        .clamp(1, MAX_BUCKETS);
    let mut counts = vec![(0u64, 0u64); buckets];
    for (at, kind) in events {
        // Before the range: integer division would round it into bucket 0.
        if at.0 < from.0 {
            continue;
        }
        let Ok(i) = usize::try_from((at.0 - from.0) / bucket_ms) else {
            continue;
        };
        if let Some(slot) = counts.get_mut(i) {
            match kind {
                Kind::Issued(tokens) => slot.0 += tokens,
                Kind::Failed => slot.1 += 1,
            }
        }
    }
    let top = nice_max(counts.iter().map(|(a, b)| (*a).max(*b)).max().unwrap_or(0));
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let base_y = TOP + plot_h;
    let n = u32::try_from(buckets).unwrap_or(1);
    let slot_w = (plot_w / n).max(2);
    let bar_w = (slot_w * 2 / 5).max(1);
    let every = buckets.div_ceil(MAX_LABELS).max(1);
    let height = |count: u64| -> u32 {
        u32::try_from(count.saturating_mul(u64::from(plot_h)) / top).unwrap_or(plot_h)
    };
    let bars = counts
        .iter()
        .enumerate()
        .map(|(i, (issued, failed))| {
            let x = LEFT + u32::try_from(i).unwrap_or(0) * slot_w;
            let (ih, fh) = (height(*issued), height(*failed));
            Bar {
                label: label(
                    from.0 + i64::try_from(i).unwrap_or(0) * bucket_ms,
                    bucket_ms,
                ),
                show_label: i % every == 0,
                label_x: x + slot_w / 2,
                issued: *issued,
                failed: *failed,
                issued_x: x + slot_w / 10,
                failed_x: x + slot_w / 10 + bar_w,
                bar_w,
                issued_y: base_y - ih,
                issued_h: ih,
                failed_y: base_y - fh,
                failed_h: fh,
            }
        })
        .collect();
    // Grid lines on whole counts: the round bound splits into 5, 4, 2 or 1 steps.
    let steps = [5u64, 4, 2, 1]
        .into_iter()
        .find(|n| top.is_multiple_of(*n))
        .unwrap_or(1);
    let ticks = (0..=steps)
        .map(|k| Tick {
            y: base_y - u32::try_from(u64::from(plot_h) * k / steps).unwrap_or(0),
            value: top / steps * k,
        })
        .collect();
    Chart {
        width: WIDTH,
        height: HEIGHT,
        left: LEFT,
        right_x: WIDTH - RIGHT,
        base_y,
        bars,
        ticks,
        issued: counts.iter().map(|c| c.0).sum(),
        failed: counts.iter().map(|c| c.1).sum(),
        unit: if bucket_ms == HOUR_MS {
            "per hour"
        } else {
            "per day"
        },
        truncated,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    const DAY0: i64 = 1_700_006_400_000; // 2023-11-15T00:00:00Z

    #[test]
    fn events_fall_into_day_buckets_and_bars_scale_to_the_largest() {
        let events = [
            (Timestamp(DAY0 + 5), Kind::Issued(1)),
            (Timestamp(DAY0 + 10), Kind::Issued(1)),
            (Timestamp(DAY0 + DAY_MS + 1), Kind::Failed),
            (Timestamp(DAY0 + 9 * DAY_MS), Kind::Issued(1)), // after the range
            (Timestamp(DAY0 - 1), Kind::Failed),             // before it
        ];
        let chart = build(
            Timestamp(DAY0),
            Timestamp(DAY0 + 7 * DAY_MS),
            &events,
            false,
        );
        assert_eq!(chart.unit, "per day");
        assert_eq!(chart.bars.len(), 7);
        assert_eq!((chart.issued, chart.failed), (2, 1));
        assert_eq!(chart.bars[0].label, "11-15");
        assert_eq!(chart.bars[0].issued, 2);
        assert_eq!(chart.bars[1].failed, 1);
        // The largest bar reaches the top of the plot; half of it is half as tall.
        assert_eq!(chart.bars[0].issued_y, TOP);
        assert_eq!(chart.bars[1].failed_h * 2, chart.bars[0].issued_h);
        assert!(chart
            .bars
            .iter()
            .all(|b| b.issued_y + b.issued_h == chart.base_y));
        let values: Vec<u64> = chart.ticks.iter().map(|t| t.value).collect();
        assert_eq!(values, [0, 1, 2]);
        assert_eq!(chart.ticks[2].y, TOP);
        // A batch summary counts its tokens, not one.
        let batch = [(Timestamp(DAY0 + 5), Kind::Issued(40))];
        let chart = build(Timestamp(DAY0), Timestamp(DAY0 + DAY_MS * 3), &batch, false);
        assert_eq!(chart.issued, 40);
    }

    #[test]
    fn short_ranges_are_drawn_per_hour_and_empty_ones_flat() {
        let chart = build(Timestamp(DAY0), Timestamp(DAY0 + DAY_MS), &[], true);
        assert_eq!(chart.unit, "per hour");
        assert_eq!(chart.bars.len(), 24);
        assert_eq!(chart.bars[13].label, "13:00");
        assert!(chart
            .bars
            .iter()
            .all(|b| b.issued_h == 0 && b.failed_h == 0));
        assert!(chart.truncated);
        assert!(chart.bars.iter().filter(|b| b.show_label).count() <= MAX_LABELS);
    }

    #[test]
    fn axis_bounds_are_round() {
        assert_eq!(nice_max(0), 1);
        assert_eq!(nice_max(3), 5);
        assert_eq!(nice_max(7), 10);
        assert_eq!(nice_max(11), 20);
        assert_eq!(nice_max(501), 1000);
    }
}
