//! Checking a judge against people: how often a scorer whose feedback a model writes says what
//! people say of the same tasks.
//!
//! The loop: [`label_sheet`] lists a run's tasks for people, blinded (what the judge saw, none
//! of what it said); people fill in each line's `label`; [`Labels::load`] reads the file back,
//! and [`calibrate`] pairs each label with the judge's feedback under the key in a run and
//! reports agreement, Cohen's κ, the confusion matrix and every disagreement (for numbers,
//! also weighted κ, Spearman's ρ and the mean absolute difference).
//!
//! ```
//! use eval_engine::calibration::{Labels, Scale, calibrate};
//!
//! let run = eval_engine::store::from_json(
//!     br#"{"schema_version": "0.2", "run_id": "01RUN", "created_at": "2026-01-01T00:00:00Z",
//!          "duration_ms": 0, "suite": {"name": "trips", "size": 2, "source": "inline"},
//!          "target": "agent", "concurrency": 1, "tasks": [
//!            {"task_id": "paris", "inputs": {"input": "Paris?"},
//!             "feedback": [{"key": "judge", "score": true}]},
//!            {"task_id": "rome", "inputs": {"input": "Rome?"},
//!             "feedback": [{"key": "judge", "score": true, "comment": "looks right"}]}]}"#,
//!     "run.json".as_ref(),
//! )?;
//! let labels = Labels::parse(
//!     "labels.jsonl",
//!     br#"{"task_id": "paris", "key": "judge", "label": "pass"}
//!         {"task_id": "rome", "key": "judge", "label": "fail"}"#,
//! )?;
//! let calibration = calibrate(&run, &labels, "judge")?;
//! assert_eq!(calibration.scale, Scale::Categories);
//! assert_eq!(calibration.agreement, Some(0.5));
//! assert_eq!(calibration.disagreements[0].task_id, "rome");
//! assert_eq!(calibration.disagreements[0].comment.as_deref(), Some("looks right"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod agreement;
mod assessment;
mod compare;
mod error;
mod labels;
pub(crate) mod requirement;
mod sheet;

pub use agreement::{Confusion, Measure, cohen_kappa, quadratic_weighted_kappa, spearman};
pub use assessment::Assessment;
pub use compare::{Calibration, Disagreement, MAX_SCALE_SPAN, NotCompared, Scale, Ungradeable, calibrate};
pub use error::CalibrationError;
pub use labels::{Label, LabelLine, Labels};
pub use requirement::Requirement;
pub use sheet::{SheetLine, label_sheet, sheet_jsonl, write_label_sheet};
