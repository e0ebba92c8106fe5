//! Reading and writing run JSON files, and the run directory (`<root>/<suite>/<run_id>.json`).
//!
//! The format is AG2's run JSON (schema 0.2) with this crate's fields after AG2's, so files from
//! either side load in the other (the private `wire` module holds the exact shape). Writing is atomic
//! and never replaces an existing run file; loading names the file and the position of
//! whatever is wrong with it.

mod cleanup;
mod last;
pub(crate) mod run_files;

pub use crate::regular_file::MAX_RUN_FILE_BYTES;
pub use cleanup::{Leftover, LeftoverKind};
pub use last::{JournalEntry, PassedOver, RegradeChoice, ResumeChoice, RunKind, StoredRun};
pub use run_files::{
    JOURNAL_SUFFIX, Store, StoreError, from_json, load_run, load_run_with_limit, runs_dir_name, save_json, save_run,
    to_json,
};
