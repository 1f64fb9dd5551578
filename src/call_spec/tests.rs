use super::*;

fn parse(s: &str) -> CallSpec {
    CallSpec::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn err(s: &str) -> String {
    CallSpec::parse(s).unwrap_err().to_string()
}

#[test]
fn values() {
    let c = parse("AdamW(lr=1e-3, betas=(0.9, 0.98), weight_decay=0.1, amsgrad=False)");
    assert_eq!(c.name, "AdamW");
    assert_eq!(c.get("lr"), Some(&Value::Float(1e-3)));
    assert_eq!(c.f64_pair("betas").unwrap(), Some((0.9, 0.98)));
    assert_eq!(c.bool("amsgrad").unwrap(), Some(false));
    let c = parse(
        "X(a=-2, b=.5, c=5., d=1_000, e=+3, f='s\\'q', g=\"d\", h=None, i=(1,), j=(2), k=[], l=())",
    );
    let want = [
        Value::Int(-2),
        Value::Float(0.5),
        Value::Float(5.0),
        Value::Int(1000),
        Value::Int(3),
        Value::Str("s'q".into()),
        Value::Str("d".into()),
        Value::None,
        Value::Tuple(vec![Value::Int(1)]),
        Value::Int(2),
        Value::List(vec![]),
        Value::Tuple(vec![]),
    ];
    for ((_, got), want) in c.kwargs.iter().zip(&want) {
        assert_eq!(got, want);
    }
    let c = parse("X(a=inf, b=-inf, c=float('-inf'), d=float(\"nan\"), e=-0.0, f=1E+2)");
    assert_eq!(c.f64("a").unwrap(), Some(f64::INFINITY));
    assert_eq!(c.f64("b").unwrap(), Some(f64::NEG_INFINITY));
    assert_eq!(c.f64("c").unwrap(), Some(f64::NEG_INFINITY));
    assert!(c.f64("d").unwrap().unwrap().is_nan());
    assert_eq!(
        c.f64("e").unwrap().map(f64::to_bits),
        Some((-0.0f64).to_bits())
    );
    assert_eq!(c.get("f"), Some(&Value::Float(100.0)));
    let c = parse("Adafactor(eps=(None, 1e-3))");
    let eps = c
        .typed("eps", "a pair", |v| match v.items()? {
            [a, b] => Some((a.as_f64(), b.as_f64()?)),
            _ => None,
        })
        .unwrap();
    assert_eq!(eps, Some((None, 1e-3)));
}

#[test]
fn nested_and_bare() {
    let c = parse(
        "SequentialLR(schedulers=[LinearLR(start_factor=0.1, total_iters=5), \
         CosineAnnealingLR(T_max=95)], milestones=[5])",
    );
    let kids = c.calls("schedulers").unwrap().unwrap();
    assert_eq!(kids[0].name, "LinearLR");
    assert_eq!(kids[1].usize("T_max").unwrap(), Some(95));
    assert_eq!(c.usize_list("milestones").unwrap(), Some(vec![5]));
    assert_eq!(parse("  StepLR  ").kwargs, vec![]);
    assert_eq!(parse("StepLR()").kwargs, vec![]);
    assert_eq!(
        parse("CyclicLR(mode='triangular2',)").str("mode").unwrap(),
        Some("triangular2")
    );
}

#[test]
fn display_round_trips() {
    let text = "S(a=1, b=0.1, c=1e-07, d=float('-inf'), e=(1,), f=[X(g='h\\'')], i=None, j=True)";
    let c = parse(text);
    assert_eq!(parse(&c.to_string()), c);
    assert_eq!(
        c.to_string(),
        "S(a=1, b=0.1, c=1e-7, d=float('-inf'), e=(1,), f=[X(g='h\\'')], i=None, j=True)"
    );
}

#[test]
fn int_and_float_stay_apart() {
    let c = parse("StepLR(step_size=1.0, gamma=1)");
    assert_eq!(c.f64("gamma").unwrap(), Some(1.0));
    let e = c.usize("step_size").unwrap_err().to_string();
    assert_eq!(
        e,
        "StepLR: step_size must be a non-negative integer, got 1.0 (float)"
    );
    let e = parse("StepLR(gamma=True)")
        .f64("gamma")
        .unwrap_err()
        .to_string();
    assert_eq!(e, "StepLR: gamma must be a float, got True (bool)");
}

#[test]
fn keywords() {
    let c = parse("StepLR(step_size=1, gama=0.7)");
    let e = c
        .check_keywords(&["step_size", "gamma", "last_epoch"])
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "unknown keyword 'gama' for StepLR (valid: step_size, gamma, last_epoch)"
    );
    let e = parse("StepLR(gamma=0.7)")
        .required("step_size", CallSpec::usize)
        .unwrap_err();
    assert_eq!(e.to_string(), "StepLR: missing keyword step_size");
}

#[test]
fn syntax_errors() {
    for (text, needle) in [
        (
            "StepLR(1, gamma=0.7)",
            "positional arguments are not supported) at column 8",
        ),
        (
            "StepLR(step_size=1 gamma=0.7)",
            "expected ',' or ')' at column 20",
        ),
        (
            "StepLR(step_size=1, step_size=2)",
            "keyword step_size repeated",
        ),
        ("StepLR(step_size=1", "expected ',' or ')' at column 19"),
        (
            "StepLR(gamma=0.7) x",
            "unexpected text after the call at column 19",
        ),
        ("StepLR(gamma=1e)", "invalid number 1e at column 14"),
        ("StepLR(gamma=1__0)", "invalid number 1__0"),
        ("StepLR(gamma=12abc)", "invalid number 12"),
        ("StepLR(gamma=foo)", "unknown name foo"),
        ("StepLR(mode='x)", "unterminated string"),
        ("StepLR(a=[1, 2)", "expected ',' or ']'"),
        ("StepLR(a=-'x')", "'-' before something not a number"),
        ("StepLR(a=99999999999999999999)", "out of range"),
        ("", "expected a name such as StepLR at column 1"),
        ("3(a=1)", "expected a name"),
    ] {
        let e = err(text);
        assert!(e.contains(needle), "{text}: {e}");
        assert!(!e.contains('\n'), "{e}");
    }
}
