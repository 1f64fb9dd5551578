//! A scheduler used wrongly at run time: stepped without the metric it watches, with another
//! number of groups, loaded from another scheduler's state, stepped past its end. Each is an error
//! that names the problem, never a panic.
use tch_harness::schedule::parse_scheduler;

#[test]
fn runtime_errors_and_misuse() {
    let mut lrs = vec![0.1];
    let mut s = parse_scheduler("ReduceLROnPlateau()", &mut lrs).unwrap();
    assert!(s.needs_metric());
    let e = s.step(&mut lrs, None).unwrap_err().to_string();
    assert_eq!(e, "ReduceLROnPlateau: step needs the metric it watches");
    let e = s.step(&mut [0.1, 0.2], Some(1.0)).unwrap_err().to_string();
    assert_eq!(
        e,
        "ReduceLROnPlateau: built for 1 parameter groups, stepped with 2"
    );

    let mut s = parse_scheduler("StepLR(step_size=2)", &mut lrs).unwrap();
    assert!(!s.needs_metric());
    let wrong = parse_scheduler("ExponentialLR(gamma=0.5)", &mut lrs)
        .unwrap()
        .state();
    let e = s.load_state(&wrong).unwrap_err().to_string();
    assert_eq!(e, "StepLR state: saved by a ExponentialLR, not a StepLR");
    let mut two = vec![0.1, 0.2];
    let other_groups = parse_scheduler("StepLR(step_size=2)", &mut two)
        .unwrap()
        .state();
    let e = s.load_state(&other_groups).unwrap_err().to_string();
    assert!(
        e.contains("\"base_lrs\" is missing or not a list of 1 floats"),
        "{e}"
    );

    let mut s = parse_scheduler(
        "OneCycleLR(max_lr=0.1, total_steps=2, cycle_momentum=False)",
        &mut lrs,
    )
    .unwrap();
    s.step(&mut lrs, None).unwrap();
    s.step(&mut lrs, None).unwrap();
    let e = s.step(&mut lrs, None).unwrap_err().to_string();
    assert!(
        e.contains("Tried to step 3 times. The specified number of total steps is 2"),
        "{e}"
    );
    assert!(parse_scheduler("StepLR(step_size=1)", &mut []).is_err());
}
