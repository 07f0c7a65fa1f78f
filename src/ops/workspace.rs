//! A workspace of named tensors (blobs), and running operators and nets on it.

use std::collections::{BTreeMap, HashMap};

use super::def::{NetDef, OperatorDef};
use super::operator::{Meta, Operator};
use super::tensor::Tensor;
use crate::error::{Error, OpErrorKind};

/// Named tensors (Caffe2's `Workspace` of blobs).
///
/// Every refused operator or net leaves every blob exactly as it was (bitwise; see
/// [`Tensor`]'s equality): an operator checks all its blobs before it writes, and a
/// net checks every operator in order against the blobs as the earlier operators
/// would leave them (types, shapes, quantization) before the first one runs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Workspace {
    blobs: BTreeMap<String, Tensor>,
}

fn in_net(e: Error, net: &NetDef, i: usize) -> Error {
    match e {
        Error::Operator {
            op_type,
            kind,
            detail,
        } => Error::Operator {
            op_type,
            kind,
            detail: format!("net `{}`, op #{i}: {detail}", net.name),
        },
        other => other,
    }
}

impl Workspace {
    /// An empty workspace.
    pub fn new() -> Workspace {
        Workspace::default()
    }

    /// Stores `tensor` as blob `name`, returning the tensor it replaces.
    pub fn feed_blob(&mut self, name: impl Into<String>, tensor: Tensor) -> Option<Tensor> {
        self.blobs.insert(name.into(), tensor)
    }

    /// The blob `name`, or an [`OpErrorKind::MissingBlob`] error.
    pub fn fetch_blob(&self, name: &str) -> Result<&Tensor, Error> {
        self.blobs.get(name).ok_or_else(|| Error::Operator {
            op_type: String::new(),
            kind: OpErrorKind::MissingBlob,
            detail: format!("blob `{name}` is not in the workspace"),
        })
    }

    /// Whether blob `name` exists.
    pub fn has_blob(&self, name: &str) -> bool {
        self.blobs.contains_key(name)
    }

    /// Removes blob `name`, returning it.
    pub fn remove_blob(&mut self, name: &str) -> Option<Tensor> {
        self.blobs.remove(name)
    }

    /// The blob names, sorted.
    pub fn blob_names(&self) -> impl Iterator<Item = &str> {
        self.blobs.keys().map(String::as_str)
    }

    /// The blobs, sorted by name.
    pub fn blobs(&self) -> impl Iterator<Item = (&str, &Tensor)> {
        self.blobs.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The number of blobs.
    pub fn len(&self) -> usize {
        self.blobs.len()
    }

    /// Whether there are no blobs.
    pub fn is_empty(&self) -> bool {
        self.blobs.is_empty()
    }

    /// Creates an operator from `def` and checks it against the blobs as they are now
    /// (registered type, counts, arguments, in-place pairs, blob existence, types,
    /// shapes, parameters for the element type, quantization).
    pub fn create_operator(&self, def: &OperatorDef) -> Result<Operator, Error> {
        let op = Operator::from_def(def)?;
        op.check(self)?;
        Ok(op)
    }

    /// Creates and runs one operator. A refusal leaves every blob as it was.
    pub fn run_operator_once(&mut self, def: &OperatorDef) -> Result<(), Error> {
        Operator::from_def(def)?.run(self)
    }

    /// Runs a net's operators in order. Every operator is created and checked first,
    /// against the types and shapes the blobs will have when it runs; only then does
    /// the first one run, so a refused net leaves every blob as it was. (The one
    /// check that can only run with the operator, a PRelu slope that an earlier
    /// operator of the net writes, puts back every blob the net wrote when it
    /// refuses.) Errors of the operator layer name the net and the operator's index.
    pub fn run_net(&mut self, net: &NetDef) -> Result<(), Error> {
        let mut ops = Vec::with_capacity(net.ops.len());
        for (i, def) in net.ops.iter().enumerate() {
            ops.push(Operator::from_def(def).map_err(|e| in_net(e, net, i))?);
        }
        let mut staged: HashMap<&str, Meta> = HashMap::new();
        // Whether an operator checks values that an earlier operator of this net
        // writes (PRelu's slope): only then can a refusal come after the first
        // operator has run, and the blobs the net writes are saved to be put back.
        let mut late_check = false;
        for (i, op) in ops.iter().enumerate() {
            late_check |= op.checked_values().is_some_and(|b| staged.contains_key(b));
            let metas = op
                .plan_outputs(
                    &|b| staged.get(b).cloned().or_else(|| self.get(b).map(Meta::of)),
                    &|b| {
                        if staged.contains_key(b) {
                            None
                        } else {
                            self.get(b)
                        }
                    },
                )
                .map_err(|e| in_net(e, net, i))?;
            for (out, meta) in op.def().outputs.iter().zip(metas) {
                staged.insert(out.as_str(), meta);
            }
        }
        let saved: Vec<(String, Option<Tensor>)> = if late_check {
            let mut names: Vec<&str> = staged.keys().copied().collect();
            names.sort_unstable();
            names
                .into_iter()
                .map(|b| (b.to_string(), self.get(b).cloned()))
                .collect()
        } else {
            Vec::new()
        };
        for (i, op) in ops.iter().enumerate() {
            if let Err(e) = op.execute(self) {
                for (b, t) in saved {
                    match t {
                        Some(t) => self.put(&b, t),
                        None => {
                            self.take(&b);
                        }
                    }
                }
                return Err(in_net(e, net, i));
            }
        }
        Ok(())
    }

    pub(crate) fn get(&self, name: &str) -> Option<&Tensor> {
        self.blobs.get(name)
    }

    pub(crate) fn get_mut(&mut self, name: &str) -> Option<&mut Tensor> {
        self.blobs.get_mut(name)
    }

    pub(crate) fn take(&mut self, name: &str) -> Option<Tensor> {
        self.blobs.remove(name)
    }

    pub(crate) fn put(&mut self, name: &str, t: Tensor) {
        self.blobs.insert(name.to_string(), t);
    }
}
