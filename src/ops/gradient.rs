//! Gradient makers (Caffe2's `GradientMakerBase`) and backward nets.

use std::collections::{HashMap, HashSet};

use super::def::{NetDef, OperatorDef};
use super::schema::{lookup, op_error};
use crate::error::{Error, OpErrorKind};

/// The name of the gradient blob of `blob`: `"<blob>_grad"` (Caffe2's naming).
pub fn grad_name(blob: &str) -> String {
    format!("{blob}_grad")
}

/// The gradient definitions of a forward operator, as Caffe2's gradient makers write
/// them: type `<type>Gradient`, inputs `[Y, Y_grad]` (`O(0)`, `GO(0)`), outputs
/// `[X_grad]` (`GI(0)`) (PRelu: inputs `[Y, Y_grad, X, W]`, outputs
/// `[X_grad, W_grad]`), every argument copied, and the engine and device option
/// copied; `is_gradient_op` is set and the name is left empty.
///
/// Refused for definitions the schema refuses, and with [`OpErrorKind::UnknownOp`] for
/// operators without a gradient (the gradient operators themselves, Int8Relu).
pub fn gradient_defs(def: &OperatorDef) -> Result<Vec<OperatorDef>, Error> {
    let schema = lookup(&def.op_type)?;
    schema.check_def(def)?;
    let Some(grad_type) = schema.gradient_op() else {
        return Err(op_error(
            schema.name(),
            OpErrorKind::UnknownOp,
            format!("no gradient maker is registered for `{}`", schema.name()),
        ));
    };
    let (x, y) = (&def.inputs[0], &def.outputs[0]);
    let (inputs, outputs) = if reads_inputs(def) {
        // PRelu's: `[Y, Y_grad, X, W]` -> `[X_grad, W_grad]` (`O(0)`, `GO(0)`, `I(0)`,
        // `I(1)` -> `GI(0)`, `GI(1)`).
        let w = &def.inputs[1];
        (
            vec![y.clone(), grad_name(y), x.clone(), w.clone()],
            vec![grad_name(x), grad_name(w)],
        )
    } else {
        (vec![y.clone(), grad_name(y)], vec![grad_name(x)])
    };
    let g = OperatorDef {
        op_type: grad_type.to_string(),
        inputs,
        outputs,
        args: def.args.clone(),
        engine: def.engine.clone(),
        device_option: def.device_option.clone(),
        is_gradient_op: true,
        ..OperatorDef::default()
    };
    // An in-place PRelu's gradient would read X as overwritten (refused, as Caffe2).
    if reads_inputs(def) {
        lookup(grad_type)?.check_def(&g)?;
    }
    Ok(vec![g])
}

/// Whether the gradient of `def` reads the forward operator's inputs (PRelu's reads
/// X and W), not only its output.
fn reads_inputs(def: &OperatorDef) -> bool {
    def.op_type == "PRelu"
}

fn net_error(net: &NetDef, i: Option<usize>, op_type: &str, kind: OpErrorKind, d: String) -> Error {
    let at = i.map(|i| format!(", op #{i}")).unwrap_or_default();
    op_error(
        op_type,
        kind,
        format!("backward net of `{}`{at}: {d}", net.name),
    )
}

/// The backward net of a forward net: the gradient definitions of its operators in
/// reverse order, named `"<name>_grad"`.
///
/// Its external inputs are the forward outputs the gradients read and the gradients
/// `<blob>_grad` of the forward net's final outputs (which the caller feeds); its
/// external outputs are the gradients of the forward net's inputs.
///
/// Refused (nothing is guessed) when:
/// - an operator has no gradient, or its definition is invalid;
/// - a blob (at one version) feeds more than one operator: its gradient would be a
///   sum, and no Sum operator is registered ([`OpErrorKind::UnknownOp`]);
/// - an operator's output is overwritten by a later operator, so its gradient could
///   not read it ([`OpErrorKind::InPlaceNotAllowed`]);
/// - a gradient blob name `<blob>_grad` is also a forward blob
///   ([`OpErrorKind::ArgumentValue`]).
pub fn backward_net(net: &NetDef) -> Result<NetDef, Error> {
    let mut grads = Vec::with_capacity(net.ops.len());
    for (i, def) in net.ops.iter().enumerate() {
        let mut g = gradient_defs(def).map_err(|e| match e {
            Error::Operator {
                op_type,
                kind,
                detail,
            } => net_error(net, Some(i), &op_type, kind, detail),
            other => other,
        })?;
        grads.append(&mut g);
    }
    // Versions: every write of a blob makes a new version.
    let mut version: HashMap<&str, u32> = HashMap::new();
    let mut consumers: HashMap<(&str, u32), Vec<usize>> = HashMap::new();
    let mut produced = Vec::with_capacity(net.ops.len());
    let mut read_at: Vec<(usize, &str, u32)> = Vec::new();
    for (i, def) in net.ops.iter().enumerate() {
        for x in &def.inputs {
            let v = version.get(x.as_str()).copied().unwrap_or(0);
            consumers.entry((x.as_str(), v)).or_default().push(i);
            if reads_inputs(def) {
                read_at.push((i, x.as_str(), v));
            }
        }
        let y = def.outputs[0].as_str();
        let v = version.entry(y).or_insert(0);
        *v += 1;
        produced.push(*v);
    }
    for (i, def) in net.ops.iter().enumerate() {
        let y = def.outputs[0].as_str();
        if version[y] != produced[i] {
            let j = (i + 1..net.ops.len())
                .find(|&j| net.ops[j].outputs[0] == y)
                .unwrap_or(i);
            return Err(net_error(
                net,
                Some(i),
                &def.op_type,
                OpErrorKind::InPlaceNotAllowed,
                format!(
                    "the gradient needs `{y}` as this operator wrote it, but op #{j} ({}) \
                     overwrites it",
                    net.ops[j].op_type
                ),
            ));
        }
    }
    // A gradient that reads the forward inputs needs them as the operator read them.
    for &(i, x, v) in &read_at {
        if version.get(x).copied().unwrap_or(0) != v {
            return Err(net_error(
                net,
                Some(i),
                &net.ops[i].op_type,
                OpErrorKind::InPlaceNotAllowed,
                format!(
                    "the gradient needs input `{x}` as this operator read it, but a later op overwrites it"
                ),
            ));
        }
    }
    let mut multi: Vec<_> = consumers.iter().filter(|(_, c)| c.len() > 1).collect();
    multi.sort();
    if let Some(((blob, _), c)) = multi.first() {
        return Err(net_error(
            net,
            None,
            "",
            OpErrorKind::UnknownOp,
            format!(
                "blob `{blob}` feeds ops {c:?}: its gradient would be the sum of theirs, and \
                 no Sum operator is registered"
            ),
        ));
    }
    let forward_blobs: HashSet<&str> = net
        .ops
        .iter()
        .flat_map(|d| d.inputs.iter().chain(&d.outputs))
        .map(String::as_str)
        .collect();
    let mut sorted_blobs: Vec<&str> = forward_blobs.iter().copied().collect();
    sorted_blobs.sort_unstable();
    for b in &sorted_blobs {
        let g = grad_name(b);
        if forward_blobs.contains(g.as_str()) {
            return Err(net_error(
                net,
                None,
                "",
                OpErrorKind::ArgumentValue,
                format!("the gradient of `{b}` would be `{g}`, which is also a forward blob"),
            ));
        }
    }
    // External inputs: forward outputs read by the gradients, and gradients of final
    // outputs (blob versions no operator consumes). External outputs: gradients of the
    // forward net's inputs (blobs read at version 0).
    let mut external_inputs: Vec<String> = Vec::new();
    for (i, def) in net.ops.iter().enumerate().rev() {
        let y = def.outputs[0].as_str();
        if !consumers.contains_key(&(y, produced[i])) {
            push(&mut external_inputs, grad_name(y));
        }
    }
    for def in net.ops.iter().rev() {
        push(&mut external_inputs, def.outputs[0].clone());
        if reads_inputs(def) {
            for x in &def.inputs {
                push(&mut external_inputs, x.clone());
            }
        }
    }
    let mut external_outputs: Vec<String> = Vec::new();
    for def in &net.ops {
        for x in &def.inputs {
            if consumers.contains_key(&(x.as_str(), 0)) {
                push(&mut external_outputs, grad_name(x));
            }
        }
    }
    grads.reverse();
    Ok(NetDef {
        name: format!("{}_grad", net.name),
        ops: grads,
        external_inputs,
        external_outputs,
        ..NetDef::default()
    })
}

fn push(v: &mut Vec<String>, s: String) {
    if !v.contains(&s) {
        v.push(s);
    }
}

/// The forward net followed by its backward net ([`backward_net`]) in one net, as
/// Caffe2's `AddGradientOperators` leaves it.
pub fn with_gradients(net: &NetDef) -> Result<NetDef, Error> {
    let back = backward_net(net)?;
    let mut all = net.clone();
    all.ops.extend(back.ops);
    for g in back
        .external_inputs
        .into_iter()
        .filter(|g| !net.ops.iter().any(|d| d.outputs[0] == *g))
    {
        if !all.external_inputs.contains(&g) {
            all.external_inputs.push(g);
        }
    }
    for g in back.external_outputs {
        if !all.external_outputs.contains(&g) {
            all.external_outputs.push(g);
        }
    }
    Ok(all)
}
