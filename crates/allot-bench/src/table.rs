//! The table: one row per figure, each built from the rounds that measured it, printed and
//! written as JSON from the same rows, so the two cannot disagree.

use serde::Serialize;

/// One round's figures: allot's and its baseline's, measured back to back.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Figures {
    pub allot: f64,
    pub baseline: f64,
}

impl Figures {
    pub fn ratio(&self) -> f64 {
        self.allot / self.baseline
    }
}

/// What a row's ratio must be. A target holds only when **every** round's ratio meets it:
/// the median round alone would hide the rounds that missed.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    AtLeast(f64),
    AtMost(f64),
    /// Reported, with no target: a limit, or a figure no target names yet.
    None,
}

impl Target {
    fn met(self, ratio: f64) -> Option<bool> {
        match self {
            Target::AtLeast(at_least) => Some(ratio >= at_least),
            Target::AtMost(at_most) => Some(ratio <= at_most),
            Target::None => None,
        }
    }
}

/// One row of the table. `value` and `baseline` are those of the round shown (the median
/// round of its scenario); `rounds` holds every round, in the order measured.
#[derive(Debug, Serialize)]
pub struct Row {
    pub scenario: String,
    pub measure: String,
    pub value: f64,
    pub baseline: f64,
    pub ratio: f64,
    pub target: String,
    /// `null` for a row with no target; else whether every round met it.
    pub met: Option<bool>,
    pub rounds: Vec<Round>,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Round {
    pub allot: f64,
    pub baseline: f64,
    pub ratio: f64,
}

impl Row {
    /// A row from `rounds`, showing round `shown`; the measure gets the range of the
    /// rounds' ratios when there are several.
    pub fn new(
        scenario: &str,
        measure: &str,
        rounds: &[Figures],
        shown: usize,
        target: Target,
        target_text: &str,
    ) -> Self {
        let ratios: Vec<f64> = rounds.iter().map(Figures::ratio).collect();
        let measure = if rounds.len() > 1 {
            let (low, high) =
                ratios.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), r| (l.min(*r), h.max(*r)));
            format!("{measure}; rounds {low:.2}-{high:.2}x")
        } else {
            measure.to_owned()
        };
        let met = ratios.iter().map(|ratio| target.met(*ratio)).try_fold(true, |all, met| met.map(|met| all && met));
        Row {
            scenario: scenario.into(),
            measure,
            value: rounds[shown].allot,
            baseline: rounds[shown].baseline,
            ratio: ratios[shown],
            target: target_text.into(),
            met,
            rounds: rounds.iter().map(|f| Round { allot: f.allot, baseline: f.baseline, ratio: f.ratio() }).collect(),
        }
    }
}

/// The index of the round whose ratio is the median; `rounds` has an odd length.
pub fn median_round(rounds: &[Figures]) -> usize {
    let mut order: Vec<usize> = (0..rounds.len()).collect();
    order.sort_by(|a, b| rounds[*a].ratio().total_cmp(&rounds[*b].ratio()));
    order[order.len() / 2]
}

/// The median of `values`, not empty.
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}

/// Prints the table, each column as wide as its widest cell, the figures aligned right.
pub fn print(rows: &[Row]) {
    const HEADER: [&str; 7] = ["scenario", "measure", "allot", "baseline", "ratio", "target", "met"];
    let is_figure = |column: usize| matches!(HEADER[column], "allot" | "baseline" | "ratio");
    let cells: Vec<[String; HEADER.len()]> = std::iter::once(HEADER.map(String::from))
        .chain(rows.iter().map(|r| {
            [
                r.scenario.clone(),
                r.measure.clone(),
                format!("{:.1}", r.value),
                format!("{:.1}", r.baseline),
                format!("{:.2}", r.ratio),
                r.target.clone(),
                match r.met {
                    Some(true) => "yes".into(),
                    Some(false) => "NO".into(),
                    None => "-".into(),
                },
            ]
        }))
        .collect();
    let widths = std::array::from_fn::<usize, { HEADER.len() }, _>(|column| {
        cells.iter().map(|row| row[column].chars().count()).max().unwrap_or(0)
    });
    for row in &cells {
        let line: Vec<String> = (0..HEADER.len())
            .map(|column| {
                let (cell, width) = (&row[column], widths[column]);
                if is_figure(column) { format!("{cell:>width$}") } else { format!("{cell:<width$}") }
            })
            .collect();
        println!("{}", line.join("  ").trim_end());
    }
}
