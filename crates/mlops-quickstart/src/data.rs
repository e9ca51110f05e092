//! A synthetic credit-scoring dataset with known flaws, so the demo has something to find.
//!
//! Each row is a customer: `age`, `income`, `debt_ratio`, `credit_lines`, `region` and `gender`,
//! and the label `default` (1 when the customer defaulted), drawn from a logistic model of the
//! numbers. Planted on purpose:
//! - in region `east` a third of the labels are flipped, so any model is weak there;
//! - women's incomes are drawn 40% lower, so a model of income predicts more defaults for them
//!   (a demographic-parity gap, although gender is not an input);
//! - the last monthly batch has lower incomes, higher debt ratios and more customers in `east`:
//!   drift in those columns.

use mlops_core::rng::SplitMix;
use mlops_data::table::{Column, Table};

/// The regions, `east` being the noisy one.
pub(crate) const REGIONS: [&str; 4] = ["north", "south", "east", "west"];

/// How a batch differs from the training population.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Shift {
    /// Incomes are multiplied by this.
    pub(crate) income: f64,
    /// Added to the debt ratio (kept within 0..1).
    pub(crate) debt: f64,
    /// The share of customers in `east` (a quarter without drift).
    pub(crate) east_share: f64,
}

impl Shift {
    pub(crate) const NONE: Shift = Shift {
        income: 1.0,
        debt: 0.0,
        east_share: 0.25,
    };
    pub(crate) const DRIFTED: Shift = Shift {
        income: 0.75,
        debt: 0.12,
        east_share: 0.45,
    };
}

/// `rows` customers from `seed`, ids from `first_id`.
pub(crate) fn customers(rows: usize, seed: u64, first_id: i64, shift: Shift) -> Table {
    let mut rng = SplitMix(seed);
    let mut ids = Vec::with_capacity(rows);
    let (mut age, mut income, mut debt, mut lines) = (
        Vec::with_capacity(rows),
        Vec::with_capacity(rows),
        Vec::with_capacity(rows),
        Vec::with_capacity(rows),
    );
    let (mut region, mut gender, mut label) = (
        Vec::with_capacity(rows),
        Vec::with_capacity(rows),
        Vec::with_capacity(rows),
    );
    for (id, _) in (first_id..).zip(0..rows) {
        let a = 18.0 + 62.0 * rng.uniform();
        let female = rng.uniform() < 0.5;
        let base = (10.6 + 0.45 * rng.normal()).exp() * if female { 0.6 } else { 1.0 };
        let inc = base * shift.income;
        let d = (rng.uniform().powf(1.5) + shift.debt).min(1.0);
        let lines_open = rng.below(10);
        let l = i64::try_from(lines_open).expect("0..=9");
        let r = if rng.uniform() < shift.east_share {
            2
        } else {
            [0, 1, 3][rng.below(3)]
        };
        let logit = -1.2 + 3.0 * (d - 0.4) - 1.6 * ((inc / 40_000.0).ln()) - 0.02 * (a - 45.0)
            + 0.08 * (f64::from(u8::try_from(lines_open).expect("0..=9")) - 5.0);
        let mut defaulted = rng.uniform() < 1.0 / (1.0 + (-logit).exp());
        if r == 2 && rng.uniform() < 0.35 {
            defaulted = !defaulted;
        }
        ids.push(Some(id));
        age.push(Some((a * 10.0).round() / 10.0));
        income.push(Some(inc.round()));
        debt.push(Some((d * 1000.0).round() / 1000.0));
        lines.push(Some(l));
        region.push(Some(REGIONS[r]));
        gender.push(Some(if female { "female" } else { "male" }));
        label.push(Some(i64::from(defaulted)));
    }
    Table {
        names: [
            "customer_id",
            "age",
            "income",
            "debt_ratio",
            "credit_lines",
            "region",
            "gender",
            "default",
        ]
        .map(str::to_owned)
        .to_vec(),
        columns: vec![
            Column::Int(ids.into()),
            Column::Float(age.into()),
            Column::Float(income.into()),
            Column::Float(debt.into()),
            Column::Int(lines.into()),
            Column::text(region),
            Column::text(gender),
            Column::Int(label.into()),
        ],
        rows,
    }
}
