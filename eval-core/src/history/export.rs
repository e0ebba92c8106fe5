//! The history as files other engines read: DuckDB, Spark, Trino, pandas.
//!
//! Three tables, each partitioned by suite the way those engines expect
//! (`<out>/<table>/suite=<suite>/<table>.<ext>`, the suite only in the directory name):
//! - `runs`: one row per run;
//! - `scores`: one row per run × task attempt × feedback key, with the attempt's numbers;
//! - `prompts`: one row per run × task attempt × prompt named with `Ctx::prompt`.
//!
//! Columns are named as in the run JSON (`run_id`, `task_id`, `attempt`, `key`, `score`, …).
//! Parquet (with the arrow and parquet crates, snappy-compressed), JSON Lines or CSV. The
//! export is written beside `out` and put in its place whole: a reader never sees half of one,
//! and an export that fails leaves the previous one as it was.

use super::{History, HistoryError};
use arrow_array::{ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use rusqlite::types::ValueRef;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The file format of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// Apache Parquet (`.parquet`).
    Parquet,
    /// One JSON object per line (`.jsonl`).
    Jsonl,
    /// Comma-separated values with a header line (`.csv`).
    Csv,
}

impl ExportFormat {
    /// The format named `name` (`parquet`, `jsonl`, `csv`).
    pub fn named(name: &str) -> Option<ExportFormat> {
        match name {
            "parquet" => Some(ExportFormat::Parquet),
            "jsonl" | "json" => Some(ExportFormat::Jsonl),
            "csv" => Some(ExportFormat::Csv),
            _ => None,
        }
    }

    fn extension(self) -> &'static str {
        match self {
            ExportFormat::Parquet => "parquet",
            ExportFormat::Jsonl => "jsonl",
            ExportFormat::Csv => "csv",
        }
    }
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exported {
    /// The files, relative to the export's directory, in the order written.
    pub files: Vec<PathBuf>,
    /// Rows written per table (`runs`, `scores`, `prompts`).
    pub rows: Vec<(&'static str, u64)>,
}

/// The file that marks a directory as an export: only such a directory is replaced.
pub const EXPORT_MARKER: &str = "EVAL_EXPORT";

/// Rows gathered before they are written as one Parquet row group.
const BATCH_ROWS: usize = 65_536;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Text,
    Integer,
    Real,
    Bool,
}

/// A table of the export: its columns, and the query giving its rows for one suite (`?1`).
struct Table {
    name: &'static str,
    columns: &'static [(&'static str, Kind)],
    sql: &'static str,
}

const TABLES: [Table; 3] = [
    Table {
        name: "runs",
        columns: &[
            ("run_id", Kind::Text),
            ("label", Kind::Text),
            ("variant", Kind::Text),
            ("status", Kind::Text),
            ("created_at", Kind::Text),
            ("created_ms", Kind::Integer),
            ("duration_ms", Kind::Integer),
            ("complete", Kind::Bool),
            ("filter", Kind::Text),
            ("resumed_from", Kind::Text),
            ("replayed_from", Kind::Text),
            ("git_commit", Kind::Text),
            ("git_dirty", Kind::Bool),
            ("models", Kind::Text),
            ("tasks", Kind::Integer),
            ("source_path", Kind::Text),
        ],
        sql: "SELECT r.run_id, r.label, r.variant, r.status, r.created_at, r.created_ms, r.duration_ms,
                     r.selection_complete, r.selection_filter, r.resumed_from, r.regraded_from, r.git_commit,
                     r.git_dirty, r.models, (SELECT count(*) FROM cases c WHERE c.run = r.id), r.source_path
              FROM runs r WHERE r.suite_id = ?1 ORDER BY r.created_ms, r.run_id",
    },
    Table {
        name: "scores",
        columns: &[
            ("run_id", Kind::Text),
            ("task_id", Kind::Text),
            ("base_id", Kind::Text),
            ("attempt", Kind::Integer),
            ("key", Kind::Text),
            ("score", Kind::Real),
            ("kind", Kind::Text),
            ("value", Kind::Text),
            ("verdict", Kind::Text),
            ("comment", Kind::Text),
            ("content_hash", Kind::Text),
            ("duration_ms", Kind::Integer),
            ("input_tokens", Kind::Integer),
            ("output_tokens", Kind::Integer),
            ("error_type", Kind::Text),
            ("error_message", Kind::Text),
            ("budget_violation", Kind::Bool),
        ],
        sql: "SELECT r.run_id, c.task_id, c.base_id, c.attempt, s.key, s.score, s.kind, s.value, s.verdict,
                     s.comment, c.content_hash, c.duration_ms, c.tokens_in, c.tokens_out, c.error_type,
                     c.error_message, c.budget_violation
              FROM runs r JOIN cases c ON c.run = r.id JOIN scores s ON s.case_id = c.id
              WHERE r.suite_id = ?1 ORDER BY r.created_ms, r.run_id, c.id, s.key",
    },
    Table {
        name: "prompts",
        columns: &[
            ("run_id", Kind::Text),
            ("task_id", Kind::Text),
            ("name", Kind::Text),
            ("hash", Kind::Text),
        ],
        sql: "SELECT r.run_id, c.task_id, p.name, p.hash
              FROM runs r JOIN cases c ON c.run = r.id JOIN case_prompts p ON p.case_id = c.id
              WHERE r.suite_id = ?1 ORDER BY r.created_ms, r.run_id, c.id, p.name",
    },
];

/// One value of a row, as the index holds it.
enum Cell {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
}

impl History {
    /// Writes every run of every suite to `out` as `format` (see the [module](self)), replacing
    /// an earlier export there. `out` must be new, empty, or an earlier export (it holds
    /// [`EXPORT_MARKER`]): nothing else is ever replaced.
    ///
    /// ```no_run
    /// use eval_engine::history::History;
    /// use eval_engine::history::export::ExportFormat;
    ///
    /// let history = History::open("target/tmp/evals")?;
    /// let exported = history.export(ExportFormat::Parquet, "target/history-export".as_ref())?;
    /// println!("{} files", exported.files.len());
    /// # Ok::<(), eval_engine::history::HistoryError>(())
    /// ```
    pub fn export(&self, format: ExportFormat, out: &Path) -> Result<Exported, HistoryError> {
        check_replaceable(out)?;
        let parent = out
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = out
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let staging = parent.join(format!(".{name}.partial-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&staging);
        let written = self.write_export(format, &staging);
        let exported = match written {
            Ok(exported) => exported,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&staging);
                return Err(e);
            }
        };
        replace_dir(&staging, out)?;
        Ok(exported)
    }

    fn write_export(&self, format: ExportFormat, dir: &Path) -> Result<Exported, HistoryError> {
        let io = |path: &Path, doing: &'static str| {
            let path = path.to_owned();
            move |source| HistoryError::Io { path, doing, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir, "create the export directory"))?;
        let mut suites = self
            .conn
            .prepare("SELECT id, name FROM suites ORDER BY name")
            .map_err(|e| self.sql_error("list the suites", e))?;
        let suites: Vec<(i64, String)> = suites
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .and_then(Iterator::collect)
            .map_err(|e| self.sql_error("list the suites", e))?;
        let mut exported = Exported {
            files: Vec::new(),
            rows: TABLES.iter().map(|t| (t.name, 0)).collect(),
        };
        for (table_index, table) in TABLES.iter().enumerate() {
            for (suite_id, suite) in &suites {
                let relative = Path::new(table.name)
                    .join(format!("suite={}", partition_value(suite)))
                    .join(format!("{}.{}", table.name, format.extension()));
                let path = dir.join(&relative);
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).map_err(io(parent, "create the export directory"))?;
                }
                let rows = self.write_table(table, *suite_id, format, &path)?;
                exported.rows[table_index].1 += rows;
                exported.files.push(relative);
            }
        }
        let marker = dir.join(EXPORT_MARKER);
        std::fs::write(
            &marker,
            "An export of an eval history (cargo eval export); replaced whole by the next one.\n",
        )
        .map_err(io(&marker, "write"))?;
        Ok(exported)
    }

    /// Writes the rows of `table` for one suite to `path`; returns how many.
    fn write_table(
        &self,
        table: &Table,
        suite_id: i64,
        format: ExportFormat,
        path: &Path,
    ) -> Result<u64, HistoryError> {
        let sql_error = |e| self.sql_error("read the history for the export", e);
        let mut stmt = self.conn.prepare(table.sql).map_err(sql_error)?;
        let mut rows = stmt.query([suite_id]).map_err(sql_error)?;
        let file = File::create(path).map_err(|source| HistoryError::Io {
            path: path.to_owned(),
            doing: "create",
            source,
        })?;
        let mut sink = Sink::new(format, table, file, path)?;
        let mut count = 0;
        while let Some(row) = rows.next().map_err(sql_error)? {
            let mut cells = Vec::with_capacity(table.columns.len());
            for i in 0..table.columns.len() {
                cells.push(match row.get_ref(i).map_err(sql_error)? {
                    ValueRef::Null => Cell::Null,
                    ValueRef::Integer(n) => Cell::Integer(n),
                    ValueRef::Real(x) => Cell::Real(x),
                    ValueRef::Text(t) | ValueRef::Blob(t) => Cell::Text(String::from_utf8_lossy(t).into_owned()),
                });
            }
            sink.push(cells)?;
            count += 1;
        }
        sink.finish()?;
        Ok(count)
    }
}

/// Where the rows of one file go, in its format.
enum Sink<'a> {
    Parquet {
        writer: ArrowWriter<File>,
        schema: Arc<Schema>,
        table: &'a Table,
        pending: Vec<Vec<Cell>>,
        path: &'a Path,
    },
    Jsonl {
        out: BufWriter<File>,
        table: &'a Table,
        path: &'a Path,
    },
    Csv {
        out: csv::Writer<BufWriter<File>>,
        path: &'a Path,
    },
}

impl<'a> Sink<'a> {
    fn new(format: ExportFormat, table: &'a Table, file: File, path: &'a Path) -> Result<Self, HistoryError> {
        Ok(match format {
            ExportFormat::Parquet => {
                let fields: Vec<Field> = table
                    .columns
                    .iter()
                    .map(|(name, kind)| Field::new(*name, data_type(*kind), true))
                    .collect();
                let schema = Arc::new(Schema::new(fields));
                let properties = WriterProperties::builder().set_compression(Compression::SNAPPY).build();
                let writer =
                    ArrowWriter::try_new(file, schema.clone(), Some(properties)).map_err(|e| export_error(path, e))?;
                Sink::Parquet {
                    writer,
                    schema,
                    table,
                    pending: Vec::new(),
                    path,
                }
            }
            ExportFormat::Jsonl => Sink::Jsonl {
                out: BufWriter::new(file),
                table,
                path,
            },
            ExportFormat::Csv => {
                let mut out = csv::Writer::from_writer(BufWriter::new(file));
                out.write_record(table.columns.iter().map(|(name, _)| *name))
                    .map_err(|e| export_error(path, e))?;
                Sink::Csv { out, path }
            }
        })
    }

    fn push(&mut self, cells: Vec<Cell>) -> Result<(), HistoryError> {
        match self {
            Sink::Parquet { pending, .. } => {
                pending.push(cells);
                if pending.len() >= BATCH_ROWS {
                    self.flush()?;
                }
            }
            Sink::Jsonl { out, table, path } => {
                let mut object = serde_json::Map::with_capacity(cells.len());
                for ((name, kind), cell) in table.columns.iter().zip(cells) {
                    object.insert((*name).to_owned(), json_value(*kind, cell));
                }
                serde_json::to_writer(&mut *out, &object).map_err(|e| export_error(path, e))?;
                out.write_all(b"\n").map_err(|e| export_error(path, e))?;
            }
            Sink::Csv { out, path } => {
                let fields = cells.into_iter().map(|cell| match cell {
                    Cell::Null => String::new(),
                    Cell::Integer(n) => n.to_string(),
                    Cell::Real(x) => x.to_string(),
                    Cell::Text(t) => t,
                });
                out.write_record(fields).map_err(|e| export_error(path, e))?;
            }
        }
        Ok(())
    }

    /// Writes the pending rows as one Parquet row group.
    fn flush(&mut self) -> Result<(), HistoryError> {
        let Sink::Parquet {
            writer,
            schema,
            table,
            pending,
            path,
        } = self
        else {
            return Ok(());
        };
        if pending.is_empty() {
            return Ok(());
        }
        let rows = std::mem::take(pending);
        let columns: Vec<ArrayRef> = (0..table.columns.len())
            .map(|i| column(table.columns[i].1, rows.iter().map(|row| &row[i])))
            .collect();
        let batch = RecordBatch::try_new(schema.clone(), columns).map_err(|e| export_error(path, e))?;
        writer.write(&batch).map_err(|e| export_error(path, e))
    }

    fn finish(mut self) -> Result<(), HistoryError> {
        self.flush()?;
        match self {
            Sink::Parquet { writer, path, .. } => writer.close().map(drop).map_err(|e| export_error(path, e)),
            Sink::Jsonl { mut out, path, .. } => out.flush().map_err(|e| export_error(path, e)),
            Sink::Csv { mut out, path } => out.flush().map_err(|e| export_error(path, e)),
        }
    }
}

fn data_type(kind: Kind) -> DataType {
    match kind {
        Kind::Text => DataType::Utf8,
        Kind::Integer => DataType::Int64,
        Kind::Real => DataType::Float64,
        Kind::Bool => DataType::Boolean,
    }
}

/// One column of a batch, from the cells of its rows.
fn column<'c>(kind: Kind, cells: impl Iterator<Item = &'c Cell>) -> ArrayRef {
    match kind {
        Kind::Text => Arc::new(StringArray::from_iter(cells.map(|c| match c {
            Cell::Text(t) => Some(t.clone()),
            Cell::Integer(n) => Some(n.to_string()),
            Cell::Real(x) => Some(x.to_string()),
            Cell::Null => None,
        }))),
        Kind::Integer => Arc::new(Int64Array::from_iter(cells.map(|c| match c {
            Cell::Integer(n) => Some(*n),
            _ => None,
        }))),
        Kind::Real => Arc::new(Float64Array::from_iter(cells.map(|c| match c {
            Cell::Real(x) => Some(*x),
            Cell::Integer(n) => Some(*n as f64),
            _ => None,
        }))),
        Kind::Bool => Arc::new(BooleanArray::from_iter(cells.map(|c| match c {
            Cell::Integer(n) => Some(*n != 0),
            _ => None,
        }))),
    }
}

fn json_value(kind: Kind, cell: Cell) -> serde_json::Value {
    use serde_json::Value;
    match (kind, cell) {
        (_, Cell::Null) => Value::Null,
        (Kind::Bool, Cell::Integer(n)) => Value::Bool(n != 0),
        (Kind::Real, Cell::Integer(n)) => Value::from(n as f64),
        (_, Cell::Integer(n)) => Value::from(n),
        (_, Cell::Real(x)) => serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number),
        (_, Cell::Text(t)) => Value::String(t),
    }
}

/// A suite name as a directory name: Hive's escaping (`%XX`) of what a path cannot hold or
/// the engines read as syntax.
fn partition_value(suite: &str) -> String {
    let mut out = String::with_capacity(suite.len());
    for byte in suite.bytes() {
        match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'-' | b'.' if !(out.is_empty() && byte == b'.') => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// `out` may be replaced: it does not exist, is an empty directory, or is an earlier export.
fn check_replaceable(out: &Path) -> Result<(), HistoryError> {
    let refuse = |why: &str| HistoryError::BadFile(format!("cannot export to {}: {why}", out.display()));
    match std::fs::symlink_metadata(out) {
        Err(_) => Ok(()),
        Ok(meta) if !meta.is_dir() => Err(refuse("it is not a directory")),
        Ok(_) => {
            let mut entries = std::fs::read_dir(out).map_err(|source| HistoryError::Io {
                path: out.to_owned(),
                doing: "read",
                source,
            })?;
            if entries.next().is_none() || out.join(EXPORT_MARKER).is_file() {
                Ok(())
            } else {
                Err(refuse(
                    "it holds files that are not an earlier export; give a new or empty directory",
                ))
            }
        }
    }
}

/// Puts the export at `staging` in the place of `out`, whole.
fn replace_dir(staging: &Path, out: &Path) -> Result<(), HistoryError> {
    let io = |doing: &'static str| {
        move |source| HistoryError::Io {
            path: out.to_owned(),
            doing,
            source,
        }
    };
    if out.exists() {
        let old = staging.with_extension("old");
        let _ = std::fs::remove_dir_all(&old);
        std::fs::rename(out, &old).map_err(io("move the earlier export away from"))?;
        std::fs::rename(staging, out).map_err(io("put the export in place at"))?;
        let _ = std::fs::remove_dir_all(&old);
    } else {
        std::fs::rename(staging, out).map_err(io("put the export in place at"))?;
    }
    Ok(())
}

fn export_error(path: &Path, e: impl std::fmt::Display) -> HistoryError {
    HistoryError::Export {
        path: path.to_owned(),
        why: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suite_names_become_partition_directories() {
        assert_eq!(partition_value("weather"), "weather");
        assert_eq!(partition_value("evals::weather"), "evals%3A%3Aweather");
        assert_eq!(partition_value("a/b c"), "a%2Fb%20c");
        assert_eq!(partition_value(".hidden"), "%2Ehidden");
    }
}
