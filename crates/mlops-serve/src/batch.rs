//! Micro-batching (`--batch-wait`): concurrent requests to one model scored together.
//!
//! A request's rows go to a bounded queue instead of straight to the blocking pool. One task
//! per model takes the first request waiting and hands it to the blocking pool as soon as a
//! scoring thread is free; while every one is busy, it gathers the requests that arrive, for at
//! most the window (`--batch-wait`, from the first request) and up to `--batch-rows` rows. The
//! blocking thread concatenates the record batches that share a schema, scores them once and
//! gives each request its slice of the outputs. The fixed costs of a score (a tensor per layer,
//! a thread hand-off) are then paid once a batch rather than once a request, which pays where a
//! batch scores for less than its rows one by one (on a CPU, rarely: docs/serving.md#speed);
//! a request never waits for a window while a thread is idle: a lone request is scored at once.
//!
//! A request never fails because of another: when a batch's scoring fails (a row with a
//! missing input), each of its requests is scored again on its own, so the error names the
//! request's own row and the others are answered.

use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};

use arrow_array::RecordBatch;
use axum::http::StatusCode;
use mlops_data::rows::Values;
use tokio::sync::{Semaphore, mpsc, oneshot};

use crate::Served;
use crate::reply::ApiError;
use crate::routes::score_now;

/// Predict's output columns for a request's rows.
type Scored = Vec<(String, Values)>;

/// Requests the queue holds before a new one waits for room.
const QUEUE: usize = 4096;

/// A model's batcher: off when its window is zero; its gathering task starts with the first
/// request (it needs the runtime, and the model's `Arc`).
pub(crate) struct Batcher {
    wait: Duration,
    rows: usize,
    /// Batches scored at once: the scoring threads.
    scorers: usize,
    queue: OnceLock<mpsc::Sender<Job>>,
}

/// One request waiting for its scores.
struct Job {
    batch: RecordBatch,
    /// Taken when answered; a job dropped unanswered answers as it goes (`Drop`).
    reply: Option<oneshot::Sender<Result<Scored, ApiError>>>,
}

impl Job {
    fn answer(mut self, scored: Result<Scored, ApiError>) {
        if let Some(reply) = self.reply.take() {
            // A client that went away dropped its receiver; nothing to answer then.
            let _ = reply.send(scored);
        }
    }
}

impl Drop for Job {
    /// A job dropped unanswered: its batch's scoring panicked (a 500, as an unbatched request's
    /// would be), or the model's batcher stopped with the server.
    fn drop(&mut self) {
        if let Some(reply) = self.reply.take() {
            let error = if std::thread::panicking() {
                crate::routes::scoring_panicked()
            } else {
                stopped()
            };
            let _ = reply.send(Err(error));
        }
    }
}

/// The answer when the model's batcher has stopped.
fn stopped() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "model",
        "the model's batcher has stopped (the server is shutting down)",
    )
}

impl Batcher {
    /// A batcher gathering requests for at most `wait`, and stopping once it holds `rows` rows,
    /// for `scorers` scoring threads.
    pub(crate) fn new(wait: Duration, rows: usize, scorers: usize) -> Self {
        Batcher {
            wait,
            rows: rows.max(1),
            scorers: scorers.max(1),
            queue: OnceLock::new(),
        }
    }

    /// Whether requests are batched (a window above zero).
    pub(crate) fn is_on(&self) -> bool {
        !self.wait.is_zero()
    }
}

/// Scores `batch` with `served`'s model in a micro-batch; `batch` comes back with its scores.
pub(crate) async fn score(
    served: &Arc<Served>,
    batch: RecordBatch,
) -> Result<(RecordBatch, Scored), ApiError> {
    let batcher = &served.batcher;
    let queue = batcher.queue.get_or_init(|| {
        let (sender, receiver) = mpsc::channel(QUEUE);
        tokio::spawn(gather(
            Arc::downgrade(served),
            receiver,
            batcher.wait,
            batcher.rows,
            Arc::new(Semaphore::new(batcher.scorers)),
        ));
        sender
    });
    let (reply, answer) = oneshot::channel();
    let job = Job {
        batch: batch.clone(),
        reply: Some(reply),
    };
    queue.send(job).await.map_err(|_| stopped())?;
    let scored = answer.await.map_err(|_| stopped())??;
    Ok((batch, scored))
}

/// The gathering task: batch after batch until the model is dropped. A batch goes to the
/// blocking pool as soon as a scoring thread is free; while none is, it gathers the requests
/// arriving, until its window closes or it is full, then waits for a thread.
async fn gather(
    served: Weak<Served>,
    mut queue: mpsc::Receiver<Job>,
    wait: Duration,
    cap: usize,
    scorers: Arc<Semaphore>,
) {
    while let Some(first) = queue.recv().await {
        let deadline = tokio::time::Instant::now() + wait;
        let mut rows = first.batch.num_rows();
        let mut jobs = vec![first];
        let mut gathering = true;
        let permit = loop {
            while gathering && rows < cap {
                let Ok(job) = queue.try_recv() else { break };
                rows += job.batch.num_rows();
                jobs.push(job);
            }
            if let Ok(permit) = Arc::clone(&scorers).try_acquire_owned() {
                break permit;
            }
            if !gathering || rows >= cap {
                match Arc::clone(&scorers).acquire_owned().await {
                    Ok(permit) => break permit,
                    Err(_) => return,
                }
            }
            tokio::select! {
                job = queue.recv() => match job {
                    Some(job) => {
                        rows += job.batch.num_rows();
                        jobs.push(job);
                    }
                    None => gathering = false,
                },
                permit = Arc::clone(&scorers).acquire_owned() => match permit {
                    Ok(permit) => break permit,
                    Err(_) => return,
                },
                () = tokio::time::sleep_until(deadline) => gathering = false,
            }
        };
        let Some(served) = served.upgrade() else {
            return;
        };
        // Not awaited: the next batch gathers while this one scores.
        drop(tokio::task::spawn_blocking(move || {
            answer(&served, jobs);
            drop(permit);
        }));
    }
}

/// Scores `jobs` on a blocking thread, one batch per schema, and answers each.
fn answer(served: &Served, jobs: Vec<Job>) {
    let mut groups: Vec<Vec<Job>> = Vec::new();
    for job in jobs {
        match groups
            .iter_mut()
            .find(|g| g[0].batch.schema_ref() == job.batch.schema_ref())
        {
            Some(group) => group.push(job),
            None => groups.push(vec![job]),
        }
    }
    for group in groups {
        answer_group(served, group);
    }
}

/// Scores requests whose batches share a schema: once together, or each on its own when that
/// fails, so a bad row fails its own request only.
fn answer_group(served: &Served, jobs: Vec<Job>) {
    let started = Instant::now();
    served
        .metrics
        .batched(served, jobs.iter().map(|j| j.batch.num_rows()).sum());
    let together = (jobs.len() > 1)
        .then(|| {
            let schema = jobs[0].batch.schema();
            arrow_select::concat::concat_batches(&schema, jobs.iter().map(|j| &j.batch)).ok()
        })
        .flatten()
        .and_then(|batch| score_now(served, &batch).ok());
    let Some(scored) = together else {
        for job in jobs {
            let started = Instant::now();
            let scored = score_now(served, &job.batch);
            if let Ok(scored) = &scored {
                served.metrics.scored(served, scored, started.elapsed());
            }
            job.answer(scored);
        }
        return;
    };
    let compute = started.elapsed();
    let mut offset = 0;
    for job in jobs {
        let n = job.batch.num_rows();
        let own: Scored = scored
            .iter()
            .map(|(name, values)| (name.clone(), slice(values, offset, n)))
            .collect();
        offset += n;
        served.metrics.scored(served, &own, compute);
        job.answer(Ok(own));
    }
}

/// Rows `offset..offset + len` of a column.
fn slice(values: &Values, offset: usize, len: usize) -> Values {
    let range = offset..offset + len;
    match values {
        Values::Float32(v) => Values::Float32(v[range].to_vec()),
        Values::Int64(v) => Values::Int64(v[range].to_vec()),
        Values::Text { labels, ids } => Values::Text {
            labels: Arc::clone(labels),
            ids: ids[range].to_vec(),
        },
    }
}
