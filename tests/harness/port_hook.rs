//! A port's own step hook, added through `Experiment::hooks`: it runs at its slot, its state goes
//! into the checkpoint under its key and comes back on resume, and a checkpoint that does not fit
//! the run's hooks (one missing, one extra, two with one key) is refused in one line.
use std::cell::Cell;
use std::rc::Rc;

use serde_json::{json, Value};
use tch::Device;
use tch_harness::run::{
    checkpoint_path, resume_with, train_experiment, Checkpoint, FitEnd, Silent, StopFlag, LAST,
};
use tch_harness::{Error, Optimizer, Result, Slot, StepHook, TrainConfig, Update};

use crate::common::{global_rng, tempdir};
use crate::kill_resume::losses;
use crate::resume_rng::{config, experiment};

/// Four epochs of 8 batches, no accumulation: 32 optimizer steps.
const STEPS: u64 = 32;

/// Counts the optimizer steps (its state), and requests a stop after `stop_after` of them.
struct StepCounter {
    steps: Rc<Cell<u64>>,
    stop_after: Option<(u64, StopFlag)>,
}

impl StepHook for StepCounter {
    fn slot(&self) -> Slot {
        Slot::Schedule
    }

    fn after_update(&mut self, update: &mut Update) -> Result<()> {
        if update.stepped {
            self.steps.set(self.steps.get() + 1);
        }
        if let Some((after, stop)) = &self.stop_after {
            if self.steps.get() == *after {
                stop.request();
            }
        }
        Ok(())
    }

    fn key(&self) -> Option<&str> {
        Some("step_counter")
    }

    fn state(&self, _: &dyn Optimizer) -> Result<Value> {
        Ok(json!({ "steps": self.steps.get() }))
    }

    fn load_state(&mut self, state: &Value, _: &mut dyn Optimizer) -> Result<()> {
        let steps = state["steps"].as_u64();
        self.steps
            .set(steps.ok_or_else(|| Error::Data("step_counter: no steps".into()))?);
        Ok(())
    }
}

/// The shared experiment with a counter (count in `steps`), stopping after `stop_after` steps.
fn counted(steps: &Rc<Cell<u64>>, stop_after: Option<(u64, StopFlag)>) -> tch_harness::Experiment {
    let mut experiment = experiment(None).unwrap();
    experiment.hooks.push(Box::new(StepCounter {
        steps: steps.clone(),
        stop_after,
    }));
    experiment
}

#[test]
fn a_ports_hook_counts_every_step_and_its_state_survives_a_resume() {
    let _rng = global_rng();
    let dir = tempdir();
    let (whole, stopped) = (dir.path().join("whole"), dir.path().join("stopped"));
    let config = config(false);

    let steps = Rc::new(Cell::new(0));
    let done = train_experiment(
        counted(&steps, None),
        &config,
        Some(&whole),
        &StopFlag::new(),
        &mut Silent,
    )
    .unwrap();
    assert_eq!(done.end, FitEnd::Finished);
    assert_eq!(steps.get(), STEPS, "the hook did not see every step");

    // Stopped inside the second epoch, after 11 steps.
    let (steps, stop) = (Rc::new(Cell::new(0)), StopFlag::new());
    let first = train_experiment(
        counted(&steps, Some((11, stop.clone()))),
        &config,
        Some(&stopped),
        &stop,
        &mut Silent,
    )
    .unwrap();
    assert_eq!(first.end, FitEnd::Stopped);
    let saved = Checkpoint::load(&checkpoint_path(&stopped, LAST)).unwrap();
    let step_state = saved.step.expect("the step's state");
    assert_eq!(step_state["hooks"]["step_counter"], json!({ "steps": 11 }));

    // A fresh counter starts at 0: only the checkpoint's state brings it to 32.
    let steps = Rc::new(Cell::new(0));
    let rebuild = |_: &TrainConfig, _: Device| Ok(counted(&steps, None));
    let resumed = resume_with(&stopped, rebuild, &StopFlag::new(), &mut Silent).unwrap();
    assert_eq!(resumed.end, FitEnd::Finished);
    assert_eq!(steps.get(), STEPS, "the hook's state was not restored");
    assert_eq!(
        losses(&stopped),
        losses(&whole),
        "the hook changed the numbers"
    );
}

#[test]
fn a_checkpoint_that_does_not_fit_the_runs_hooks_is_refused() {
    let _rng = global_rng();
    let dir = tempdir();
    let config = config(false);
    let stopped_with = |name: &str, hooked: bool| {
        let (run, stop) = (dir.path().join(name), StopFlag::new());
        let steps = Rc::new(Cell::new(0));
        let mut experiment = counted(&steps, Some((3, stop.clone())));
        if !hooked {
            // Keeps the counter's stop, under no key: its state is not saved.
            experiment.hooks = vec![Box::new(Unkeyed(StepCounter {
                steps,
                stop_after: Some((3, stop.clone())),
            }))];
        }
        let end = train_experiment(experiment, &config, Some(&run), &stop, &mut Silent).unwrap();
        assert_eq!(end.end, FitEnd::Stopped);
        run
    };
    let refused = |run: &std::path::Path, hooked: bool| {
        let steps = Rc::new(Cell::new(0));
        let rebuild = |_: &TrainConfig, _: Device| {
            let mut experiment = experiment(None)?;
            if hooked {
                experiment.hooks.push(Box::new(StepCounter {
                    steps: steps.clone(),
                    stop_after: None,
                }));
            }
            Ok(experiment)
        };
        match resume_with(run, rebuild, &StopFlag::new(), &mut Silent) {
            Err(e) => e.to_string(),
            Ok(_) => panic!(
                "resumed {} a hook that does not fit",
                if hooked { "with" } else { "without" }
            ),
        }
    };
    let saved_hook = stopped_with("saved", true);
    let message = refused(&saved_hook, false);
    assert!(
        message.contains("holds the step hook 'step_counter'"),
        "{message}"
    );
    let no_hook = stopped_with("none", false);
    let message = refused(&no_hook, true);
    assert!(
        message.contains("no state for the step hook 'step_counter'"),
        "{message}"
    );
}

#[test]
fn two_hooks_with_one_key_are_refused_before_training() {
    let _rng = global_rng();
    let dir = tempdir();
    let steps = Rc::new(Cell::new(0));
    let mut experiment = counted(&steps, None);
    experiment.hooks.push(Box::new(StepCounter {
        steps: steps.clone(),
        stop_after: None,
    }));
    let out = dir.path().join("run");
    let error = train_experiment(
        experiment,
        &config(false),
        Some(&out),
        &StopFlag::new(),
        &mut Silent,
    )
    .expect_err("two hooks with one key trained");
    assert!(
        error
            .to_string()
            .contains("two step hooks have the checkpoint key 'step_counter'"),
        "{error}"
    );
    assert!(!out.exists(), "a run directory was made before the error");
    assert_eq!(steps.get(), 0);
}

/// A hook's behaviour without its key (so without saved state).
struct Unkeyed(StepCounter);

impl StepHook for Unkeyed {
    fn slot(&self) -> Slot {
        self.0.slot()
    }

    fn after_update(&mut self, update: &mut Update) -> Result<()> {
        self.0.after_update(update)
    }
}
