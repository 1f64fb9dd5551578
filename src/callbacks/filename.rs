//! ModelCheckpoint's `filename=` pattern, as Lightning formats it (`_format_checkpoint_name`):
//! `{epoch}-{eval_loss:.4f}` becomes `epoch=3-eval_loss=0.1234` with `auto_insert_metric_name`.
use super::monitor::metric;
use crate::run_state::EpochRecord;

/// The default: the epoch and, when there is one, the monitored metric to four places (the
/// issue's naming; Lightning's own default is `{epoch}-{step}`).
pub fn default_pattern(monitor: Option<&str>) -> String {
    match monitor {
        Some(monitor) => format!("{{epoch}}-{{{monitor}:.4f}}"),
        None => "{epoch}-{step}".to_string(),
    }
}

/// A pattern cut into text and `{name[:spec]}` fields.
#[derive(Debug, Clone, PartialEq)]
pub struct FilenamePattern {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(String),
    Field {
        name: String,
        spec: Spec,
        insert_name: bool,
    },
}

/// The format specs supported: none, `.Nf` (fixed places) and `Nd`/`0Nd` (integers).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Spec {
    Plain,
    Fixed(usize),
    Int { width: usize, zero: bool },
}

impl FilenamePattern {
    /// Parses `pattern`; an error says what is wrong with it.
    pub fn parse(pattern: &str, auto_insert: bool) -> Result<FilenamePattern, String> {
        let mut parts = Vec::new();
        let mut rest = pattern;
        while let Some(open) = rest.find('{') {
            let close = rest[open..]
                .find('}')
                .ok_or_else(|| format!("filename '{pattern}': a '{{' without its '}}'"))?;
            parts.push(Part::Text(rest[..open].to_string()));
            let field = &rest[open + 1..open + close];
            let (name, spec) = field.split_once(':').unwrap_or((field, ""));
            let spec = parse_spec(spec)
                .ok_or_else(|| format!("filename '{pattern}': unsupported format '{{{field}}}' (use {{name}}, {{name:.4f}} or {{name:03d}})"))?;
            if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
                return Err(format!("filename '{pattern}': bad field name '{name}'"));
            }
            parts.push(Part::Field {
                name: name.to_string(),
                spec,
                insert_name: auto_insert,
            });
            rest = &rest[open + close + 1..];
        }
        parts.push(Part::Text(rest.to_string()));
        if pattern.contains('/') || pattern.contains('\\') || pattern.starts_with('.') {
            return Err(format!(
                "filename '{pattern}': a file name, without folders or a leading '.'"
            ));
        }
        Ok(FilenamePattern { parts })
    }

    /// The file name (without extension) for `record`, `steps` batches into the run; a name
    /// the record lacks formats as 0, as in Lightning.
    pub fn format(&self, record: &EpochRecord, steps: u64) -> String {
        let mut name = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => name += text,
                Part::Field {
                    name: field,
                    spec,
                    insert_name,
                } => {
                    if *insert_name {
                        name += &format!("{field}=");
                    }
                    let value = match field.as_str() {
                        "epoch" => record.epoch as f64,
                        "step" => steps as f64,
                        other => metric(record, other).unwrap_or(0.0),
                    };
                    name += &formatted(value, *spec, field == "epoch" || field == "step");
                }
            }
        }
        name
    }
}

fn parse_spec(spec: &str) -> Option<Spec> {
    if spec.is_empty() {
        return Some(Spec::Plain);
    }
    if let Some(places) = spec.strip_prefix('.').and_then(|s| s.strip_suffix('f')) {
        return places.parse().ok().map(Spec::Fixed);
    }
    let digits = spec.strip_suffix('d')?;
    let width = if digits.is_empty() {
        0
    } else {
        digits.parse().ok()?
    };
    Some(Spec::Int {
        width,
        zero: digits.starts_with('0'),
    })
}

fn formatted(value: f64, spec: Spec, integer: bool) -> String {
    match spec {
        Spec::Plain if integer => format!("{}", value as i64),
        Spec::Plain => format!("{value}"),
        Spec::Fixed(places) => format!("{value:.places$}"),
        Spec::Int { width, zero: true } => format!("{:0width$}", value as i64),
        Spec::Int { width, zero: false } => format!("{:width$}", value as i64),
    }
}
