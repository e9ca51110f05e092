//! The stage graph: a stage depends on every stage that writes one of its deps (the same path, a
//! file inside an output directory, or a directory holding an output).

use std::collections::{HashMap, HashSet};
use std::path::Path;

use crate::error::{Error, Result, nearest};
use crate::spec::Pipeline;

/// Edges between stages, by index into `Pipeline::stages`.
#[derive(Debug, Clone)]
pub struct Dag {
    /// Stages that must run before each stage.
    pub upstream: Vec<Vec<usize>>,
    /// Stages that read what each stage writes.
    pub downstream: Vec<Vec<usize>>,
    /// Every stage, each after all of its upstream stages; ties keep declaration order.
    pub order: Vec<usize>,
}

/// Whether two workspace-relative paths are the same or one lies inside the other.
fn overlaps(a: &Path, b: &Path) -> bool {
    a.starts_with(b) || b.starts_with(a)
}

impl Dag {
    /// Links the stages, refusing duplicate outputs, deps that nothing provides, and cycles.
    pub fn build(pipeline: &Pipeline, root: &Path) -> Result<Self> {
        Self::build_with(pipeline, root, true)
    }

    /// [`Dag::build`], checking that deps no stage writes exist only with `sources_here`: a
    /// cluster job's own workspace holds the inputs of its stage, not of every stage.
    pub(crate) fn build_with(pipeline: &Pipeline, root: &Path, sources_here: bool) -> Result<Self> {
        let stages = &pipeline.stages;
        let mut outs: Vec<(&Path, usize)> = Vec::new();
        for (i, stage) in stages.iter().enumerate() {
            for out in stage.all_outs() {
                if let Some((path, other)) = outs.iter().find(|(path, _)| overlaps(path, out)) {
                    let (first, second) = if *other == i { (i, i) } else { (*other, i) };
                    return Err(Error::DuplicateOut {
                        path: if out.starts_with(path) {
                            out.clone()
                        } else {
                            path.to_path_buf()
                        },
                        first: stages[first].name.clone(),
                        second: stages[second].name.clone(),
                    });
                }
                outs.push((out, i));
            }
        }
        let mut upstream = vec![Vec::new(); stages.len()];
        let mut downstream = vec![Vec::new(); stages.len()];
        for (i, stage) in stages.iter().enumerate() {
            for dep in &stage.deps {
                let producers: Vec<usize> = outs
                    .iter()
                    .filter(|(out, _)| overlaps(out, dep))
                    .map(|(_, p)| *p)
                    .collect();
                if sources_here && producers.is_empty() && !root.join(dep).exists() {
                    return Err(Error::MissingDep {
                        stage: stage.name.clone(),
                        path: dep.clone(),
                    });
                }
                for p in producers {
                    if p == i {
                        return Err(Error::Cycle {
                            stages: vec![stage.name.clone(), stage.name.clone()],
                        });
                    }
                    if !upstream[i].contains(&p) {
                        upstream[i].push(p);
                        downstream[p].push(i);
                    }
                }
            }
        }
        let order = topological(&upstream, &downstream).map_err(|cycle| Error::Cycle {
            stages: cycle.into_iter().map(|i| stages[i].name.clone()).collect(),
        })?;
        Ok(Self {
            upstream,
            downstream,
            order,
        })
    }

    /// The stages to consider for `targets` (all when empty): the targets with everything upstream
    /// of them, or downstream with `downstream`; in run order. A name without `@` also selects
    /// the stages a `foreach` or `matrix` made from it.
    pub fn select(
        &self,
        pipeline: &Pipeline,
        targets: &[String],
        downstream: bool,
    ) -> Result<Vec<usize>> {
        if targets.is_empty() {
            return Ok(self.order.clone());
        }
        let mut chosen = HashSet::new();
        let mut stack = Self::matching(pipeline, targets)?;
        let edges = if downstream {
            &self.downstream
        } else {
            &self.upstream
        };
        while let Some(i) = stack.pop() {
            if chosen.insert(i) {
                stack.extend(&edges[i]);
            }
        }
        Ok(self.in_order(&chosen))
    }

    /// The stages `targets` name and no others (`mlops run --single-item`), in run order.
    pub(crate) fn select_only(
        &self,
        pipeline: &Pipeline,
        targets: &[String],
    ) -> Result<Vec<usize>> {
        let chosen: HashSet<usize> = Self::matching(pipeline, targets)?.into_iter().collect();
        Ok(self.in_order(&chosen))
    }

    /// The stages in `chosen`, in run order.
    fn in_order(&self, chosen: &HashSet<usize>) -> Vec<usize> {
        self.order
            .iter()
            .copied()
            .filter(|i| chosen.contains(i))
            .collect()
    }

    /// The indexes of the stages each target names: a stage, or every `name@...` stage that a
    /// `foreach` or `matrix` stage `name` expands to.
    fn matching(pipeline: &Pipeline, targets: &[String]) -> Result<Vec<usize>> {
        let mut stack = Vec::new();
        for target in targets {
            let matches: Vec<usize> = pipeline
                .stages
                .iter()
                .enumerate()
                .filter(|(_, s)| {
                    s.name == *target
                        || s.name
                            .strip_prefix(target.as_str())
                            .is_some_and(|r| r.starts_with('@'))
                })
                .map(|(i, _)| i)
                .collect();
            if matches.is_empty() {
                return Err(Error::UnknownStage {
                    name: target.clone(),
                    suggestion: nearest(target, pipeline.stages.iter().map(|s| s.name.as_str())),
                });
            }
            stack.extend(matches);
        }
        Ok(stack)
    }
}

/// Kahn's algorithm, taking the lowest index among ready stages; on a cycle, returns one.
fn topological(
    upstream: &[Vec<usize>],
    downstream: &[Vec<usize>],
) -> Result<Vec<usize>, Vec<usize>> {
    let mut waiting: Vec<usize> = upstream.iter().map(Vec::len).collect();
    let mut ready: std::collections::BTreeSet<usize> =
        (0..upstream.len()).filter(|i| waiting[*i] == 0).collect();
    let mut order = Vec::with_capacity(upstream.len());
    while let Some(i) = ready.pop_first() {
        order.push(i);
        for &d in &downstream[i] {
            waiting[d] -= 1;
            if waiting[d] == 0 {
                ready.insert(d);
            }
        }
    }
    if order.len() == upstream.len() {
        return Ok(order);
    }
    // Walk upstream edges among the stuck stages until one repeats: that loop is a cycle.
    let stuck: HashSet<usize> = (0..upstream.len()).filter(|i| waiting[*i] > 0).collect();
    let start = *stuck.iter().min().expect("a cycle leaves stages waiting");
    let mut path = vec![start];
    let mut seen = HashMap::from([(start, 0)]);
    let mut current = start;
    loop {
        let next = *upstream[current]
            .iter()
            .find(|u| stuck.contains(u))
            .expect("stuck stages wait on stuck stages");
        if let Some(&at) = seen.get(&next) {
            // In data-flow order, starting from the stage declared first.
            let mut cycle: Vec<usize> = path[at..].to_vec();
            cycle.reverse();
            let first = cycle
                .iter()
                .enumerate()
                .min_by_key(|(_, s)| **s)
                .map_or(0, |(i, _)| i);
            cycle.rotate_left(first);
            cycle.push(cycle[0]);
            return Err(cycle);
        }
        seen.insert(next, path.len());
        path.push(next);
        current = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pipeline(yaml: &str) -> (tempfile::TempDir, Pipeline) {
        let dir = tempfile::tempdir().expect("tempdir");
        fs_err::write(dir.path().join("raw"), "x").expect("write");
        let pipeline = Pipeline::parse(dir.path(), yaml).expect("parse");
        (dir, pipeline)
    }

    #[test]
    fn order_and_selection() {
        let (dir, p) = pipeline(
            "stages:\n  c:\n    cmd: x\n    deps: [b/file]\n    outs: [c]\n  a:\n    cmd: x\n    deps: [raw]\n    outs: [a]\n  b:\n    cmd: x\n    deps: [a]\n    outs: [b]\n",
        );
        let dag = Dag::build(&p, dir.path()).expect("dag");
        let names = |ids: Vec<usize>| {
            ids.into_iter()
                .map(|i| p.stages[i].name.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(dag.order.clone()), ["a", "b", "c"]);
        assert_eq!(
            names(dag.select(&p, &["b".into()], false).expect("up")),
            ["a", "b"]
        );
        assert_eq!(
            names(dag.select(&p, &["b".into()], true).expect("down")),
            ["b", "c"]
        );
        assert_eq!(
            names(
                dag.select_only(&p, &["c".into(), "a".into()])
                    .expect("only")
            ),
            ["a", "c"],
            "in run order, without b"
        );
    }

    #[test]
    fn cycles_duplicates_and_missing_deps() {
        let (dir, p) = pipeline(
            "stages:\n  a:\n    cmd: x\n    deps: [b]\n    outs: [a]\n  b:\n    cmd: x\n    deps: [a]\n    outs: [b]\n",
        );
        let err = Dag::build(&p, dir.path()).expect_err("cycle");
        assert_eq!(err.to_string(), "the stages form a cycle: a -> b -> a");
        let (dir, p) = pipeline(
            "stages:\n  a:\n    cmd: x\n    outs: [out]\n  b:\n    cmd: x\n    outs: [out/inner]\n",
        );
        let err = Dag::build(&p, dir.path()).expect_err("dup");
        assert_eq!(err.to_string(), "stages `a` and `b` both write `out/inner`");
        let (dir, p) = pipeline("stages:\n  a:\n    cmd: x\n    deps: [nowhere]\n");
        let err = Dag::build(&p, dir.path()).expect_err("missing");
        assert!(
            err.to_string()
                .contains("depends on `nowhere`, which does not exist"),
            "{err}"
        );
    }
}
