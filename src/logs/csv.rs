//! `metrics.csv` in the layout of Lightning's `CSVLogger` (lightning/fabric/loggers/csv_logs.py,
//! `_ExperimentWriter.save`): a header of every key any row has, sorted, `step` among them;
//! one row per epoch; an empty cell where a row lacks a key; Python's `csv` module's `\r\n`
//! line ends and `repr` of floats. Rewritten whole from the records each epoch (atomically),
//! so a resumed run's file has each epoch exactly once.
use std::collections::BTreeSet;
use std::path::Path;

use serde_json::{Map, Value};

use crate::error::Result;
use crate::run_state::EpochRecord;

pub const CSV_FILE: &str = "metrics.csv";

/// The CSV text of `records`: each record's scalar fields plus `step` (batches trained so far).
pub fn csv_text(records: &[EpochRecord]) -> String {
    let mut steps = 0u64;
    let rows: Vec<Map<String, Value>> = records
        .iter()
        .map(|record| {
            steps += record.batches as u64;
            let mut row = scalars(record);
            row.insert("step".into(), Value::from(steps));
            row
        })
        .collect();
    let columns: BTreeSet<&String> = rows.iter().flat_map(|row| row.keys()).collect();
    let line = |cells: Vec<String>| cells.join(",") + "\r\n";
    let mut text = line(columns.iter().map(|c| c.to_string()).collect());
    for row in &rows {
        text += &line(
            columns
                .iter()
                .map(|c| row.get(*c).map_or(String::new(), cell))
                .collect(),
        );
    }
    text
}

/// Writes `records` as `metrics.csv` in `run_dir`.
pub fn write_csv(run_dir: &Path, records: &[EpochRecord]) -> Result<()> {
    crate::atomic::write_atomic(&run_dir.join(CSV_FILE), csv_text(records).as_bytes())
}

/// The record's numbers by name (lists such as `lrs` left out: a CSV cell holds one value).
pub fn scalars(record: &EpochRecord) -> Map<String, Value> {
    match serde_json::to_value(record).expect("records serialise") {
        Value::Object(map) => map.into_iter().filter(|(_, v)| v.is_number()).collect(),
        _ => Map::new(),
    }
}

fn cell(value: &Value) -> String {
    match value.as_f64() {
        Some(f) if value.is_f64() => python_repr(f),
        _ => value.to_string(),
    }
}

/// Python's `repr(float)`: the shortest digits that round-trip, fixed notation for exponents
/// in [-4, 16), otherwise `d.ddde±XX`.
pub fn python_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf" } else { "-inf" }.into();
    }
    let sci = format!("{f:e}"); // shortest round-trip digits, e.g. "-1.2345e-5"
    let (mantissa, exponent) = sci.split_once('e').expect("{:e} has an exponent");
    let exponent: i32 = exponent.parse().expect("an integer exponent");
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if !(-4..16).contains(&exponent) {
        let (first, rest) = digits.split_at(1);
        let rest = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let esign = if exponent < 0 { '-' } else { '+' };
        return format!("{sign}{first}{rest}e{esign}{:02}", exponent.abs());
    }
    let point = exponent + 1; // digits before the point
    let fixed = if point <= 0 {
        format!("0.{}{digits}", "0".repeat((-point) as usize))
    } else if point as usize >= digits.len() {
        format!("{digits}{}.0", "0".repeat(point as usize - digits.len()))
    } else {
        let (int, frac) = digits.split_at(point as usize);
        format!("{int}.{frac}")
    };
    format!("{sign}{fixed}")
}

#[cfg(test)]
mod tests {
    use super::{csv_text, python_repr};
    use crate::run_state::EpochRecord;

    #[test]
    fn a_metric_a_row_lacks_is_an_empty_cell() {
        let first: EpochRecord = serde_json::from_str(
            r#"{"epoch":1,"train_loss":0.5,"train_samples":8,"batches":2,"seconds":1.0}"#,
        )
        .unwrap();
        let mut second = first.clone();
        (second.epoch, second.eval_loss) = (2, Some(0.25));
        assert_eq!(
            csv_text(&[first, second]),
            "batches,elapsed_seconds,epoch,eval_loss,seconds,step,train_loss,train_samples,train_seconds\r\n\
             2,0.0,1,,1.0,2,0.5,8,0.0\r\n\
             2,0.0,2,0.25,1.0,4,0.5,8,0.0\r\n"
        );
    }

    #[test]
    fn floats_as_python_writes_them() {
        // Python: [repr(x) for x in (0.1, 1.0, 1e-05, 0.0001, 1e16, 123456.789, -2.5e-07, 0.0)]
        let want = [
            "0.1",
            "1.0",
            "1e-05",
            "0.0001",
            "1e+16",
            "123456.789",
            "-2.5e-07",
            "0.0",
        ];
        let got: Vec<String> = [0.1, 1.0, 1e-5, 1e-4, 1e16, 123456.789, -2.5e-7, 0.0]
            .iter()
            .map(|&f| python_repr(f))
            .collect();
        assert_eq!(got, want);
    }
}
