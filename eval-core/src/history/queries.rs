//! The questions the history answers.
//!
//! Runs are ordered by when they started (`created_at`), then by run id (a ULID sorts by time
//! too). Trends, pair histories and flaky pairs read completed runs only: a run in progress or
//! interrupted holds a part of the suite and would read as a drop.

use super::records::{
    CaseRecord, FlakyPair, KeySummary, PairPoint, PromptVersion, RunFilter, RunRecord, RunState, RunSummary,
    ScoreRecord, SqlAnswer, TrendPoint,
};
use super::{History, HistoryError};
use rusqlite::types::ValueRef;
use rusqlite::{OptionalExtension, Row, params_from_iter};
use serde_json::Value;
const RUN_COLUMNS: &str = "r.run_id, s.name, r.label, r.variant, r.status, r.created_at, r.duration_ms,
    r.selection_complete, r.resumed_from, r.regraded_from, r.git_commit, r.models, r.config, r.source_path,
    (SELECT COUNT(*) FROM cases c WHERE c.run = r.id)";

const NEWEST_FIRST: &str = "ORDER BY r.created_ms DESC, r.run_id DESC";

impl History {
    /// The suites with runs, by name.
    pub fn suites(&self) -> Result<Vec<String>, HistoryError> {
        self.strings(
            "SELECT name FROM suites s WHERE EXISTS (SELECT 1 FROM runs r WHERE r.suite_id = s.id) ORDER BY name",
            [],
        )
    }

    /// The runs `filter` matches, newest first.
    pub fn runs(&self, filter: &RunFilter) -> Result<Vec<RunRecord>, HistoryError> {
        if let Some(suite) = &filter.suite {
            self.check_suite(suite)?;
        }
        let (condition, params) = filter.condition();
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM runs r JOIN suites s ON s.id = r.suite_id WHERE {condition} {NEWEST_FIRST}"
        );
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.sql_error("list runs", e))?;
        stmt.query_map(params_from_iter(params), |row| self.run_record(row))
            .and_then(Iterator::collect)
            .map_err(|e| self.sql_error("list runs", e))
    }

    /// The run `run_id` (of any suite).
    pub fn run(&self, run_id: &str) -> Result<RunRecord, HistoryError> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM runs r JOIN suites s ON s.id = r.suite_id WHERE r.run_id = ?1 {NEWEST_FIRST}"
        );
        let found = self
            .conn
            .query_row(&sql, [run_id], |row| self.run_record(row))
            .optional()
            .map_err(|e| self.sql_error("find a run", e))?;
        match found {
            Some(run) => Ok(run),
            None => Err(HistoryError::UnknownRun {
                run_id: run_id.to_owned(),
                known: self.strings(&format!("SELECT r.run_id FROM runs r {NEWEST_FIRST}"), [])?,
            }),
        }
    }

    /// The latest completed run `filter` matches (its status is ignored: always completed).
    pub fn latest_completed(&self, filter: &RunFilter) -> Result<RunRecord, HistoryError> {
        let filter = RunFilter {
            status: Some(RunState::Completed),
            ..filter.clone()
        };
        if let Some(suite) = &filter.suite {
            self.check_suite(suite)?;
        }
        let (condition, params) = filter.condition();
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM runs r JOIN suites s ON s.id = r.suite_id WHERE {condition} {NEWEST_FIRST} LIMIT 1"
        );
        let found = self
            .conn
            .query_row(&sql, params_from_iter(params), |row| self.run_record(row))
            .optional()
            .map_err(|e| self.sql_error("find the latest run", e))?;
        found.ok_or_else(|| HistoryError::UnknownRun {
            run_id: format!("completed run matching {}", describe(&filter)),
            known: self
                .runs(&RunFilter {
                    status: None,
                    ..filter.clone()
                })
                .map(|runs| {
                    runs.into_iter()
                        .map(|r| format!("{} ({})", r.run_id, r.status.name()))
                        .collect()
                })
                .unwrap_or_default(),
        })
    }

    /// Every case of run `run_id`, in the order the run file lists them, with its scores.
    pub fn cases(&self, run_id: &str) -> Result<Vec<CaseRecord>, HistoryError> {
        self.cases_where(run_id, "1", None)
    }

    /// The cases of run `run_id` with a failing score: a fail or ungradeable verdict, or with
    /// `threshold`, also any score below it (a pass/fail score counts as 1 or 0). Each case
    /// comes with only its failing scores.
    pub fn failing_cases(&self, run_id: &str, threshold: Option<f64>) -> Result<Vec<CaseRecord>, HistoryError> {
        self.cases_where(
            run_id,
            "(sc.verdict IN ('fail', 'ungradeable') OR (?2 IS NOT NULL AND sc.score < ?2))",
            threshold,
        )
    }

    fn cases_where(
        &self,
        run_id: &str,
        score_condition: &str,
        threshold: Option<f64>,
    ) -> Result<Vec<CaseRecord>, HistoryError> {
        let run_row = self.run_row(run_id)?;
        let sql = format!(
            "SELECT c.id, c.task_id, c.base_id, c.attempt, c.content_hash, c.inputs, c.outputs, c.reference_outputs,
                    c.duration_ms, c.tokens_in, c.tokens_out, c.error_type, c.error_message,
                    sc.key, sc.score, sc.kind, sc.value, sc.verdict, sc.comment
             FROM cases c LEFT JOIN scores sc ON sc.case_id = c.id
             WHERE c.run = ?1 AND (sc.key IS NULL OR {score_condition})
             ORDER BY c.id, sc.key"
        );
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.sql_error("read cases", e))?;
        let mut rows = if score_condition == "1" {
            stmt.query(rusqlite::params![run_row])
        } else {
            stmt.query(rusqlite::params![run_row, threshold])
        }
        .map_err(|e| self.sql_error("read cases", e))?;
        let mut cases: Vec<(i64, CaseRecord)> = Vec::new();
        let read = |e| self.sql_error("read cases", e);
        while let Some(row) = rows.next().map_err(read)? {
            let id: i64 = row.get(0).map_err(read)?;
            if cases.last().is_none_or(|(last, _)| *last != id) {
                let error = match (row.get::<_, Option<String>>(11), row.get::<_, Option<String>>(12)) {
                    (Ok(Some(kind)), Ok(message)) => Some((kind, message.unwrap_or_default())),
                    _ => None,
                };
                cases.push((
                    id,
                    CaseRecord {
                        task_id: row.get(1).map_err(read)?,
                        base_id: row.get(2).map_err(read)?,
                        attempt: row.get(3).map_err(read)?,
                        content_hash: row.get(4).map_err(read)?,
                        inputs: json_column(row, 5),
                        outputs: json_column(row, 6),
                        reference_outputs: json_column(row, 7),
                        duration_ms: row.get::<_, i64>(8).map_err(read)?.max(0) as u64,
                        tokens_in: row.get::<_, i64>(9).map_err(read)?.max(0) as u64,
                        tokens_out: row.get::<_, i64>(10).map_err(read)?.max(0) as u64,
                        error,
                        scores: Vec::new(),
                    },
                ));
            }
            if let Some(key) = row.get::<_, Option<String>>(13).map_err(read)?
                && let Some((_, case)) = cases.last_mut()
            {
                case.scores.push(ScoreRecord {
                    key,
                    score: row.get(14).map_err(read)?,
                    kind: row.get(15).map_err(read)?,
                    value: row.get(16).map_err(read)?,
                    verdict: row.get(17).map_err(read)?,
                    comment: row.get(18).map_err(read)?,
                });
            }
        }
        let mut cases: Vec<CaseRecord> = cases.into_iter().map(|(_, case)| case).collect();
        if score_condition != "1" {
            // A case without a failing score came only through the join's empty side.
            cases.retain(|case| !case.scores.is_empty());
        }
        Ok(cases)
    }

    /// Cases, passes, fails, mean score per key, total latency and tokens of run `run_id`.
    pub fn summary(&self, run_id: &str) -> Result<RunSummary, HistoryError> {
        let run = self.run(run_id)?;
        let run_row = self.run_row(run_id)?;
        let read = |e| self.sql_error("summarise a run", e);
        let (cases, errors, total_duration_ms, tokens_in, tokens_out) = self
            .conn
            .query_row(
                "SELECT COUNT(*), COUNT(error_type), TOTAL(duration_ms), TOTAL(tokens_in), TOTAL(tokens_out)
                 FROM cases WHERE run = ?1",
                [run_row],
                |row| {
                    Ok((
                        row.get::<_, i64>(0)?,
                        row.get::<_, i64>(1)?,
                        row.get::<_, f64>(2)?,
                        row.get::<_, f64>(3)?,
                        row.get::<_, f64>(4)?,
                    ))
                },
            )
            .map_err(read)?;
        let mut stmt = self
            .conn
            .prepare(
                "SELECT sc.key, COUNT(*),
                        SUM(sc.verdict = 'pass'), SUM(sc.verdict IN ('fail', 'ungradeable')),
                        SUM(sc.kind = 'bool'), SUM(sc.kind = 'bool' AND sc.score = 1),
                        AVG(CASE WHEN sc.kind = 'number' THEN sc.score END)
                 FROM scores sc JOIN cases c ON c.id = sc.case_id WHERE c.run = ?1
                 GROUP BY sc.key ORDER BY sc.key",
            )
            .map_err(read)?;
        let keys: Vec<KeySummary> = stmt
            .query_map([run_row], key_summary)
            .and_then(Iterator::collect)
            .map_err(read)?;
        Ok(RunSummary {
            run,
            cases: count(cases),
            passes: keys.iter().map(|k| k.passes).sum(),
            fails: keys.iter().map(|k| k.fails).sum(),
            errors: count(errors),
            keys,
            total_duration_ms: total_duration_ms as u64,
            tokens_in: tokens_in as u64,
            tokens_out: tokens_out as u64,
        })
    }

    /// The keys scored in the runs of `suite`, by name.
    pub fn keys(&self, suite: &str) -> Result<Vec<String>, HistoryError> {
        self.check_suite(suite)?;
        self.strings(
            "SELECT DISTINCT k.key FROM run_keys k JOIN runs r ON r.id = k.run
             JOIN suites s ON s.id = r.suite_id WHERE s.name = ?1 ORDER BY k.key",
            [suite],
        )
    }

    /// Key `key`'s pass rate and mean over the last `last` completed runs of `suite`, oldest
    /// first. A run that did not score the key is left out.
    pub fn trend(&self, suite: &str, key: &str, last: usize) -> Result<Vec<TrendPoint>, HistoryError> {
        self.check_key(suite, key)?;
        let read = |e| self.sql_error("read a trend", e);
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT run_id, created_at, n, passes, bools, mean FROM (
                     SELECT r.run_id, r.created_at, r.created_ms, k.n, k.bool_passes AS passes, k.bools,
                            CASE WHEN k.numbers > 0 THEN k.number_sum / k.numbers END AS mean
                     FROM runs r JOIN suites s ON s.id = r.suite_id
                     JOIN run_keys k ON k.run = r.id AND k.key = ?2
                     WHERE s.name = ?1 AND r.status = 'completed'
                     ORDER BY r.created_ms DESC, r.run_id DESC LIMIT ?3)
                 ORDER BY created_ms, run_id",
            )
            .map_err(read)?;
        stmt.query_map(
            rusqlite::params![suite, key, i64::try_from(last).unwrap_or(i64::MAX)],
            |row| {
                let passes = row.get::<_, Option<i64>>(3)?.unwrap_or(0);
                let bools = row.get::<_, Option<i64>>(4)?.unwrap_or(0);
                Ok(TrendPoint {
                    run_id: row.get(0)?,
                    created_at: row.get(1)?,
                    key: key.to_owned(),
                    n: count(row.get(2)?),
                    passes: count(passes),
                    pass_rate: (bools > 0).then(|| passes as f64 / bools as f64),
                    mean: row.get(5)?,
                })
            },
        )
        .and_then(Iterator::collect)
        .map_err(read)
    }

    /// The verdicts of task `task` (its id without attempt suffix) under key `key` in every
    /// completed run of `suite` that graded it, oldest first.
    pub fn pair_history(&self, suite: &str, task: &str, key: &str) -> Result<Vec<PairPoint>, HistoryError> {
        self.check_key(suite, key)?;
        let known_task: bool = self
            .conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM cases c JOIN runs r ON r.id = c.run JOIN suites s ON s.id = r.suite_id
                                WHERE s.name = ?1 AND c.base_id = ?2)",
                [suite, task],
                |row| row.get(0),
            )
            .map_err(|e| self.sql_error("find a task", e))?;
        if !known_task {
            return Err(HistoryError::UnknownTask {
                suite: suite.to_owned(),
                task: task.to_owned(),
                known: self.strings(
                    "SELECT DISTINCT c.base_id FROM cases c JOIN runs r ON r.id = c.run JOIN suites s ON s.id = r.suite_id
                     WHERE s.name = ?1 ORDER BY c.base_id",
                    [suite],
                )?,
            });
        }
        let read = |e| self.sql_error("read a pair's history", e);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT r.id, r.run_id, r.created_at, c.content_hash, sc.verdict, sc.score
                 FROM runs r JOIN suites s ON s.id = r.suite_id
                 JOIN cases c ON c.run = r.id JOIN scores sc ON sc.case_id = c.id AND sc.key = ?3
                 WHERE s.name = ?1 AND c.base_id = ?2 AND r.status = 'completed'
                 ORDER BY r.created_ms, r.run_id, c.attempt",
            )
            .map_err(read)?;
        let mut rows = stmt.query([suite, task, key]).map_err(read)?;
        let mut points: Vec<(i64, PairPoint)> = Vec::new();
        while let Some(row) = rows.next().map_err(read)? {
            let id: i64 = row.get(0).map_err(read)?;
            if points.last().is_none_or(|(last, _)| *last != id) {
                points.push((
                    id,
                    PairPoint {
                        run_id: row.get(1).map_err(read)?,
                        created_at: row.get(2).map_err(read)?,
                        content_hash: row.get(3).map_err(read)?,
                        verdicts: Vec::new(),
                        passes: 0,
                        scores: Vec::new(),
                    },
                ));
            }
            if let Some((_, point)) = points.last_mut() {
                let verdict: String = row.get(4).map_err(read)?;
                point.passes += u64::from(verdict == "pass");
                point.verdicts.push(verdict);
                point.scores.push(row.get(5).map_err(read)?);
            }
        }
        Ok(points.into_iter().map(|(_, point)| point).collect())
    }

    /// The (task, key) pairs of `suite` whose class (every attempt passed, none did, or some)
    /// changed most often from one completed run to the next; at most `limit`, most flips
    /// first. Pairs that never changed are left out.
    pub fn flaky_pairs(&self, suite: &str, limit: usize) -> Result<Vec<FlakyPair>, HistoryError> {
        self.check_suite(suite)?;
        let read = |e| self.sql_error("find flaky pairs", e);
        let mut stmt = self
            .conn
            .prepare(
                "WITH per_run AS (
                     SELECT c.base_id AS task, sc.key AS key, r.created_ms AS at, r.run_id AS run_id,
                            CASE WHEN SUM(sc.verdict = 'pass') = COUNT(*) THEN 'pass'
                                 WHEN SUM(sc.verdict = 'pass') = 0 THEN 'fail' ELSE 'mixed' END AS class
                     FROM runs r JOIN suites s ON s.id = r.suite_id
                     JOIN cases c ON c.run = r.id JOIN scores sc ON sc.case_id = c.id
                     WHERE s.name = ?1 AND r.status = 'completed' AND sc.verdict <> 'informational'
                     GROUP BY r.id, c.base_id, sc.key),
                 lagged AS (
                     SELECT task, key, class, LAG(class) OVER (PARTITION BY task, key ORDER BY at, run_id) AS previous
                     FROM per_run)
                 SELECT task, key, SUM(previous IS NOT NULL AND previous <> class) AS flips, COUNT(*) AS runs
                 FROM lagged GROUP BY task, key HAVING flips > 0
                 ORDER BY flips DESC, task, key LIMIT ?2",
            )
            .map_err(read)?;
        stmt.query_map(
            rusqlite::params![suite, i64::try_from(limit).unwrap_or(i64::MAX)],
            |row| {
                Ok(FlakyPair {
                    task_id: row.get(0)?,
                    key: row.get(1)?,
                    flips: count(row.get(2)?),
                    runs: count(row.get(3)?),
                })
            },
        )
        .and_then(Iterator::collect)
        .map_err(read)
    }

    /// The names of the prompts the agents of `suite` named with [`crate::Ctx::prompt`].
    pub fn prompts(&self, suite: &str) -> Result<Vec<String>, HistoryError> {
        self.check_suite(suite)?;
        self.strings(
            "SELECT DISTINCT p.name FROM case_prompts p JOIN cases c ON c.id = p.case_id JOIN runs r ON r.id = c.run
             JOIN suites s ON s.id = r.suite_id WHERE s.name = ?1 ORDER BY p.name",
            [suite],
        )
    }

    /// Every version of prompt `name` in the runs of `suite`, in order of first appearance,
    /// each with its pass rates and means per key.
    pub fn prompt_versions(&self, suite: &str, name: &str) -> Result<Vec<PromptVersion>, HistoryError> {
        let names = self.prompts(suite)?;
        if !names.iter().any(|n| n == name) {
            return Err(HistoryError::UnknownPrompt {
                suite: suite.to_owned(),
                name: name.to_owned(),
                known: names,
            });
        }
        let read = |e| self.sql_error("read prompt versions", e);
        let mut stmt = self
            .conn
            .prepare(
                "WITH uses AS (
                     SELECT p.hash, r.id AS run, r.run_id, r.created_ms
                     FROM case_prompts p JOIN cases c ON c.id = p.case_id JOIN runs r ON r.id = c.run
                     JOIN suites s ON s.id = r.suite_id WHERE s.name = ?1 AND p.name = ?2),
                 ranked AS (
                     SELECT hash, run_id, ROW_NUMBER() OVER (PARTITION BY hash ORDER BY created_ms, run_id) AS nth,
                            created_ms
                     FROM uses)
                 SELECT r.hash, r.run_id, (SELECT COUNT(DISTINCT run) FROM uses u WHERE u.hash = r.hash),
                        (SELECT COUNT(*) FROM uses u WHERE u.hash = r.hash)
                 FROM ranked r WHERE r.nth = 1 ORDER BY r.created_ms, r.run_id",
            )
            .map_err(read)?;
        let firsts: Vec<(String, String, i64, i64)> = stmt
            .query_map([suite, name], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
            })
            .and_then(Iterator::collect)
            .map_err(read)?;
        let mut keys = self
            .conn
            .prepare(
                "SELECT sc.key, COUNT(*),
                        SUM(sc.verdict = 'pass'), SUM(sc.verdict IN ('fail', 'ungradeable')),
                        SUM(sc.kind = 'bool'), SUM(sc.kind = 'bool' AND sc.score = 1),
                        AVG(CASE WHEN sc.kind = 'number' THEN sc.score END)
                 FROM case_prompts p JOIN cases c ON c.id = p.case_id JOIN runs r ON r.id = c.run
                 JOIN suites s ON s.id = r.suite_id JOIN scores sc ON sc.case_id = c.id
                 WHERE s.name = ?1 AND p.name = ?2 AND p.hash = ?3 AND r.status = 'completed'
                 GROUP BY sc.key ORDER BY sc.key",
            )
            .map_err(read)?;
        let mut versions = Vec::with_capacity(firsts.len());
        for (index, (hash, first_run, runs, cases)) in firsts.into_iter().enumerate() {
            let per_key: Vec<KeySummary> = keys
                .query_map([suite, name, hash.as_str()], key_summary)
                .and_then(Iterator::collect)
                .map_err(read)?;
            versions.push(PromptVersion {
                name: name.to_owned(),
                version: u32::try_from(index + 1).unwrap_or(u32::MAX),
                hash,
                first_run,
                runs: count(runs),
                cases: count(cases),
                keys: per_key,
            });
        }
        Ok(versions)
    }

    /// Runs one read-only statement on the index (tables `suites`, `runs`, `run_models`,
    /// `cases`, `scores`, `run_keys` (each run's counts per key), `case_prompts`, `files`). A statement that
    /// would write is refused.
    pub fn sql(&self, query: &str) -> Result<SqlAnswer, HistoryError> {
        let refused = || HistoryError::NotReadOnly {
            sql: query.trim().to_owned(),
        };
        let mut stmt = self.conn.prepare(query).map_err(|e| match e {
            rusqlite::Error::MultipleStatement => refused(),
            e => self.sql_error("run the query", e),
        })?;
        // SQLite's own answer to "does this statement write?", not a guess from its text.
        if !stmt.readonly() {
            return Err(refused());
        }
        let columns: Vec<String> = stmt.column_names().into_iter().map(str::to_owned).collect();
        let width = columns.len();
        let read = |e| self.sql_error("run the query", e);
        let mut rows = stmt.query([]).map_err(read)?;
        let mut answer = Vec::new();
        while let Some(row) = rows.next().map_err(read)? {
            let mut values = Vec::with_capacity(width);
            for i in 0..width {
                values.push(match row.get_ref(i).map_err(read)? {
                    ValueRef::Null => Value::Null,
                    ValueRef::Integer(n) => Value::from(n),
                    ValueRef::Real(x) => serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number),
                    ValueRef::Text(t) => Value::String(String::from_utf8_lossy(t).into_owned()),
                    ValueRef::Blob(b) => Value::String(b.iter().map(|byte| format!("{byte:02x}")).collect()),
                });
            }
            answer.push(values);
        }
        Ok(SqlAnswer { columns, rows: answer })
    }

    fn run_record(&self, row: &Row<'_>) -> rusqlite::Result<RunRecord> {
        let status: String = row.get(4)?;
        let models: String = row.get(11)?;
        let config: String = row.get(12)?;
        let source: String = row.get(13)?;
        Ok(RunRecord {
            run_id: row.get(0)?,
            suite: row.get(1)?,
            label: row.get(2)?,
            variant: row.get(3)?,
            status: RunState::parse(&status).unwrap_or(RunState::Failed),
            created_at: row.get(5)?,
            duration_ms: count(row.get(6)?),
            selection_complete: row.get(7)?,
            resumed_from: row.get(8)?,
            regraded_from: row.get(9)?,
            git_commit: row.get(10)?,
            models: serde_json::from_str(&models).unwrap_or_default(),
            config: serde_json::from_str(&config).unwrap_or(Value::Null),
            path: self.root.join(source),
            cases: count(row.get(14)?),
        })
    }

    /// The row id of run `run_id` (the newest, should two suites share the id).
    fn run_row(&self, run_id: &str) -> Result<i64, HistoryError> {
        let found = self
            .conn
            .query_row(
                &format!("SELECT r.id FROM runs r WHERE r.run_id = ?1 {NEWEST_FIRST}"),
                [run_id],
                |row| row.get(0),
            )
            .optional()
            .map_err(|e| self.sql_error("find a run", e))?;
        match found {
            Some(id) => Ok(id),
            None => self.run(run_id).map(|_| 0),
        }
    }

    fn check_suite(&self, suite: &str) -> Result<(), HistoryError> {
        let suites = self.suites()?;
        if suites.iter().any(|s| s == suite) {
            Ok(())
        } else {
            Err(HistoryError::UnknownSuite {
                suite: suite.to_owned(),
                known: suites,
            })
        }
    }

    fn check_key(&self, suite: &str, key: &str) -> Result<(), HistoryError> {
        let keys = self.keys(suite)?;
        if keys.iter().any(|k| k == key) {
            Ok(())
        } else {
            Err(HistoryError::UnknownKey {
                suite: suite.to_owned(),
                key: key.to_owned(),
                known: keys,
            })
        }
    }

    fn strings<P: rusqlite::Params>(&self, sql: &str, params: P) -> Result<Vec<String>, HistoryError> {
        let read = |e| self.sql_error("read the index", e);
        let mut stmt = self.conn.prepare_cached(sql).map_err(read)?;
        stmt.query_map(params, |row| row.get(0))
            .and_then(Iterator::collect)
            .map_err(read)
    }
}

/// A key's row of counts: key, n, passes, fails, pass/fail scores, their passes, mean.
fn key_summary(row: &Row<'_>) -> rusqlite::Result<KeySummary> {
    let bools: i64 = row.get::<_, Option<i64>>(4)?.unwrap_or(0);
    let true_bools: i64 = row.get::<_, Option<i64>>(5)?.unwrap_or(0);
    Ok(KeySummary {
        key: row.get(0)?,
        n: count(row.get(1)?),
        passes: count(row.get::<_, Option<i64>>(2)?.unwrap_or(0)),
        fails: count(row.get::<_, Option<i64>>(3)?.unwrap_or(0)),
        pass_rate: (bools > 0).then(|| true_bools as f64 / bools as f64),
        mean: row.get(6)?,
    })
}

/// The filter in words, for "no completed run matching …".
fn describe(filter: &RunFilter) -> String {
    let mut parts = Vec::new();
    if let Some(suite) = &filter.suite {
        parts.push(format!("suite `{suite}`"));
    }
    if let Some(label) = &filter.label {
        parts.push(format!("label `{label}`"));
    }
    if let Some(model) = &filter.model {
        parts.push(format!("model `{model}`"));
    }
    if let Some(variant) = &filter.variant {
        parts.push(format!("variant `{variant}`"));
    }
    if parts.is_empty() {
        "any suite".to_owned()
    } else {
        parts.join(", ")
    }
}

fn json_column(row: &Row<'_>, index: usize) -> Value {
    row.get::<_, String>(index)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or(Value::Null)
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}
