//! Operators: a checked definition bound to its schema, its parameters and a kernel.

use super::def::OperatorDef;
use super::schema::{Family, OpSchema, Params, lookup, op_error};
use super::tensor::{DataType, Tensor, TensorData, TensorElement, TensorShape};
use super::workspace::Workspace;
use crate::activation::Activation;
use crate::element::Element;
use crate::error::{Error, OpErrorKind};
use crate::isa::Isa;
use crate::kernel::Kernel;
use crate::prelu::{Prelu, check_slope};
use crate::quantized::{Int8LeakyRelu, QuantParams, int8_relu, int8_relu_in_place};

/// What a blob is, as far as validation is concerned.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Meta {
    pub shape: TensorShape,
    pub quant: Option<QuantParams>,
}

impl Meta {
    pub(crate) fn of(t: &Tensor) -> Meta {
        Meta {
            shape: t.shape(),
            quant: t.quant(),
        }
    }
}

/// An operator created from a definition: the schema has checked its type, counts,
/// arguments and in-place pairs. [`Operator::run`] checks the blobs (existence, types,
/// shapes, parameters for the element type, quantization) before it touches any.
#[derive(Debug, Clone)]
pub struct Operator {
    def: OperatorDef,
    schema: &'static OpSchema,
    params: Params,
    kernel: Option<Kernel>,
    prelu: Option<Prelu>,
}

/// Caffe2 falls back to the default engine when the named one does not exist; an
/// engine naming an available ISA forces that ISA.
fn kernel_for(act: Activation, engine: &str) -> Kernel {
    let k = Kernel::new(act);
    match engine.parse::<Isa>() {
        Ok(isa) => k.with_isa(isa).unwrap_or(k),
        Err(_) => k,
    }
}

/// The output slot of an out-of-place operator: the old tensor's buffer when its type
/// and length fit (Caffe2 reuses it too), else a fresh buffer and the old tensor kept
/// aside so that a refusal can put it back.
enum Slot<T> {
    Reused { dims: Vec<usize>, buf: Vec<T> },
    Fresh { buf: Vec<T>, old: Option<Tensor> },
}

impl<T: TensorElement> Slot<T> {
    fn take(ws: &mut Workspace, name: &str, n: usize) -> Slot<T> {
        match ws.take(name) {
            Some(t) if t.dtype() == T::DTYPE && t.numel() == n => {
                let (dims, data, _) = t.into_parts();
                match T::unwrap(data) {
                    Ok(buf) => Slot::Reused { dims, buf },
                    // Unreachable (the dtype matched); start afresh, keeping nothing.
                    Err(_) => Slot::Fresh {
                        buf: vec![T::default(); n],
                        old: None,
                    },
                }
            }
            old => Slot::Fresh {
                buf: vec![T::default(); n],
                old,
            },
        }
    }

    fn buf(&mut self) -> &mut Vec<T> {
        match self {
            Slot::Reused { buf, .. } | Slot::Fresh { buf, .. } => buf,
        }
    }

    /// Commits the result (`Ok`) or restores the old blob (`Err`; the kernels write
    /// nothing when they refuse, so a reused buffer still holds the old values).
    fn finish(
        self,
        ws: &mut Workspace,
        name: &str,
        dims: Vec<usize>,
        r: Result<(), Error>,
    ) -> Result<(), Error> {
        match (r, self) {
            (Ok(()), Slot::Reused { buf, .. } | Slot::Fresh { buf, .. }) => {
                ws.put(name, Tensor::from_parts(dims, T::wrap(buf), None));
                Ok(())
            }
            (Err(e), Slot::Reused { dims, buf }) => {
                ws.put(name, Tensor::from_parts(dims, T::wrap(buf), None));
                Err(e)
            }
            (Err(e), Slot::Fresh { old, .. }) => {
                if let Some(t) = old {
                    ws.put(name, t);
                }
                Err(e)
            }
        }
    }
}

impl Operator {
    /// Creates an operator from its definition: looks the type up in the registry and
    /// checks input/output counts, blob names, argument types and values, and
    /// in-place pairs ([`OpSchema::check_def`]).
    pub fn from_def(def: &OperatorDef) -> Result<Operator, Error> {
        let schema = lookup(&def.op_type)?;
        let params = schema.parse(def)?;
        let kernel = match &params {
            Params::Act(act) => Some(kernel_for(*act, &def.engine)),
            Params::Int8 { .. } | Params::Int8Leaky { .. } | Params::Fill(_) | Params::Prelu(_) => {
                None
            }
        };
        let prelu = match &params {
            Params::Prelu(order) => {
                let p = Prelu::new(*order);
                Some(match def.engine.parse::<Isa>() {
                    Ok(isa) => p.with_isa(isa).unwrap_or(p),
                    Err(_) => p,
                })
            }
            _ => None,
        };
        Ok(Operator {
            def: def.clone(),
            schema,
            params,
            kernel,
            prelu,
        })
    }

    /// The definition.
    pub fn def(&self) -> &OperatorDef {
        &self.def
    }

    /// The schema.
    pub fn schema(&self) -> &'static OpSchema {
        self.schema
    }

    /// The kernel the operator runs (`None` for Int8Relu and the fill operators).
    pub fn kernel(&self) -> Option<Kernel> {
        self.kernel
    }

    /// Whether the output names an input (and so runs in place).
    pub fn is_in_place(&self) -> bool {
        self.def
            .outputs
            .first()
            .is_some_and(|o| self.def.inputs.contains(o))
    }

    /// Checks the operator against the blobs of `ws` without running it: every input
    /// exists, types and shapes agree, the parameter is valid for the element type,
    /// quantization parameters match. Returns the output's shape.
    pub fn check(&self, ws: &Workspace) -> Result<TensorShape, Error> {
        self.plan(&|b| ws.get(b).map(Meta::of), &|b| ws.get(b))
            .map(|m| m.shape)
    }

    /// Runs the operator on `ws`: checks everything first ([`Operator::check`]); a
    /// refusal leaves every blob as it was.
    pub fn run(&self, ws: &mut Workspace) -> Result<(), Error> {
        self.plan(&|b| ws.get(b).map(Meta::of), &|b| ws.get(b))?;
        self.execute(ws)
    }

    /// Validates against blob metadata and returns the first output's metadata.
    pub(crate) fn plan<'w>(
        &self,
        lookup: &dyn Fn(&str) -> Option<Meta>,
        values: &dyn Fn(&str) -> Option<&'w Tensor>,
    ) -> Result<Meta, Error> {
        Ok(self.plan_outputs(lookup, values)?.remove(0))
    }

    /// Validates against blob metadata and returns every output's metadata, in order.
    /// `values` gives the blobs whose values are known when the operator is planned
    /// (those in the workspace that no earlier operator of the net writes): PRelu's
    /// slope is checked there, so that a non-finite slope refuses the whole net before
    /// anything runs.
    pub(crate) fn plan_outputs<'w>(
        &self,
        lookup: &dyn Fn(&str) -> Option<Meta>,
        values: &dyn Fn(&str) -> Option<&'w Tensor>,
    ) -> Result<Vec<Meta>, Error> {
        let name = self.schema.name();
        if let Params::Fill(spec) = &self.params {
            // No inputs; the arguments were checked when the operator was created.
            return Ok(vec![Meta {
                shape: spec.shape(),
                quant: spec.quant(),
            }]);
        }
        let mut metas = Vec::with_capacity(self.def.inputs.len());
        for (i, (blob, io)) in self.def.inputs.iter().zip(self.schema.inputs()).enumerate() {
            metas.push(lookup(blob).ok_or_else(|| {
                op_error(
                    name,
                    OpErrorKind::MissingBlob,
                    format!("input {i} ({}) `{blob}` is not in the workspace", io.name),
                )
            })?);
        }
        let shapes: Vec<TensorShape> = metas.iter().map(|m| m.shape.clone()).collect();
        let mut outs = self.schema.infer(&self.def, &shapes)?;
        if let Params::Prelu(_) = &self.params {
            let w = self.slope_blob();
            if let Some(t) = values(w) {
                let r = match t.data() {
                    TensorData::F32(v) => check_slope(v),
                    TensorData::F64(v) => check_slope(v),
                    TensorData::F16(v) => check_slope(v),
                    TensorData::Bf16(v) => check_slope(v),
                    // Other types were refused by the shape check.
                    TensorData::U8(_) | TensorData::I32(_) => Ok(()),
                };
                r.map_err(|e| self.slope_error(e, w))?;
            }
            return Ok(outs
                .into_iter()
                .map(|shape| Meta { shape, quant: None })
                .collect());
        }
        let out = outs.remove(0);
        let one = match &self.params {
            Params::Act(act) => {
                match out.dtype {
                    DataType::F32 => {
                        let _: f32 = act.param_as()?;
                    }
                    DataType::F64 => {
                        let _: f64 = act.param_as()?;
                    }
                    DataType::F16 => {
                        let _: half::f16 = act.param_as()?;
                    }
                    DataType::Bf16 => {
                        let _: half::bf16 = act.param_as()?;
                    }
                    DataType::U8 | DataType::I32 => {
                        return Err(op_error(
                            name,
                            OpErrorKind::TypeMismatch,
                            format!("{} input", out.dtype),
                        ));
                    }
                }
                Ok(Meta {
                    shape: out,
                    quant: None,
                })
            }
            Params::Fill(_) => unreachable_fill(name),
            &Params::Int8 { scale, zero_point } => {
                let q = metas[0].quant.ok_or_else(|| self.no_quant())?;
                if let Some(s) = scale
                    && s != q.scale
                {
                    return Err(Error::QuantizationMismatch {
                        arg: "Y_scale",
                        expected: format!("{:?}", q.scale),
                        found: format!("{s:?}"),
                    });
                }
                if let Some(z) = zero_point
                    && z != q.zero_point
                {
                    return Err(Error::QuantizationMismatch {
                        arg: "Y_zero_point",
                        expected: q.zero_point.to_string(),
                        found: z.to_string(),
                    });
                }
                Ok(Meta {
                    shape: out,
                    quant: Some(q),
                })
            }
            Params::Int8Leaky { .. } => {
                let y = self.int8_leaky(metas[0].quant)?;
                Ok(Meta {
                    shape: out,
                    quant: Some(y.output()),
                })
            }
            Params::Prelu(_) => unreachable!("returned above"),
        };
        one.map(|m| vec![m])
    }

    /// Runs a planned operator. After a successful [`Operator::plan`] on the same blobs
    /// nothing here can refuse; should a kernel refuse anyway, it has written nothing
    /// and the output blob is put back as it was.
    pub(crate) fn execute(&self, ws: &mut Workspace) -> Result<(), Error> {
        let name = self.schema.name();
        if let Params::Fill(spec) = &self.params {
            let t = spec.build(name)?;
            ws.put(&self.def.outputs[0], t);
            return Ok(());
        }
        let x = &self.def.inputs[0];
        let dtype = ws
            .get(x)
            .map(Tensor::dtype)
            .ok_or_else(|| op_error(name, OpErrorKind::MissingBlob, format!("`{x}` vanished")))?;
        if let Some(p) = self.prelu {
            return match dtype {
                DataType::F32 => self.execute_prelu::<f32>(p, ws),
                DataType::F64 => self.execute_prelu::<f64>(p, ws),
                DataType::F16 => self.execute_prelu::<half::f16>(p, ws),
                DataType::Bf16 => self.execute_prelu::<half::bf16>(p, ws),
                DataType::U8 | DataType::I32 => Err(op_error(
                    name,
                    OpErrorKind::TypeMismatch,
                    format!("{dtype} input"),
                )),
            };
        }
        match (&self.params, self.kernel) {
            (Params::Act(_), Some(k)) => match dtype {
                DataType::F32 => self.execute_float::<f32>(k, ws),
                DataType::F64 => self.execute_float::<f64>(k, ws),
                DataType::F16 => self.execute_float::<half::f16>(k, ws),
                DataType::Bf16 => self.execute_float::<half::bf16>(k, ws),
                DataType::U8 | DataType::I32 => Err(op_error(
                    name,
                    OpErrorKind::TypeMismatch,
                    format!("{dtype} input"),
                )),
            },
            _ => self.execute_int8(ws),
        }
    }

    fn missing(&self, blob: &str) -> Error {
        op_error(
            self.schema.name(),
            OpErrorKind::MissingBlob,
            format!("`{blob}` is not in the workspace"),
        )
    }

    fn wrong_type(&self, blob: &str, want: DataType) -> Error {
        op_error(
            self.schema.name(),
            OpErrorKind::TypeMismatch,
            format!("`{blob}` does not hold {want}"),
        )
    }

    fn slice<'a, T: TensorElement>(&self, ws: &'a Workspace, blob: &str) -> Result<&'a [T], Error> {
        ws.get(blob)
            .ok_or_else(|| self.missing(blob))?
            .as_slice::<T>()
            .ok_or_else(|| self.wrong_type(blob, T::DTYPE))
    }

    fn execute_float<T: TensorElement + Element>(
        &self,
        k: Kernel,
        ws: &mut Workspace,
    ) -> Result<(), Error> {
        let (ins, out) = (&self.def.inputs, &self.def.outputs[0]);
        match self.schema.family() {
            Family::Forward(_) => {
                let x = &ins[0];
                if x == out {
                    let t = ws.get_mut(x).ok_or_else(|| self.missing(x))?;
                    let s = t
                        .as_mut_slice::<T>()
                        .ok_or_else(|| self.wrong_type(x, T::DTYPE))?;
                    return k.forward_in_place(s);
                }
                let (dims, n) = {
                    let t = ws.get(x).ok_or_else(|| self.missing(x))?;
                    (t.dims().to_vec(), t.numel())
                };
                let mut slot = Slot::<T>::take(ws, out, n);
                let r = self
                    .slice::<T>(ws, x)
                    .and_then(|xs| k.forward(xs, slot.buf()));
                slot.finish(ws, out, dims, r)
            }
            Family::Gradient(_) => {
                let (y, dy) = (&ins[0], &ins[1]);
                if dy == out {
                    // In-place pair {1,0}: dX overwrites dY. (`y == dy` here would be
                    // the pair {0,0}, refused by the schema.)
                    let mut d = ws.take(dy).ok_or_else(|| self.missing(dy))?;
                    let r = match (self.slice::<T>(ws, y), d.as_mut_slice::<T>()) {
                        (Ok(ys), Some(ds)) => k.backward_in_place(ys, ds),
                        (Err(e), _) => Err(e),
                        (_, None) => Err(self.wrong_type(dy, T::DTYPE)),
                    };
                    ws.put(dy, d);
                    return r;
                }
                let (dims, n) = {
                    let t = ws.get(dy).ok_or_else(|| self.missing(dy))?;
                    (t.dims().to_vec(), t.numel())
                };
                let mut slot = Slot::<T>::take(ws, out, n);
                let r = self.slice::<T>(ws, y).and_then(|ys| {
                    let ds = self.slice::<T>(ws, dy)?;
                    k.backward(ys, ds, slot.buf())
                });
                slot.finish(ws, out, dims, r)
            }
            Family::Int8Relu | Family::Int8LeakyRelu | Family::Fill(_) => self.execute_int8(ws),
            Family::PRelu | Family::PReluGradient => Err(op_error(
                self.schema.name(),
                OpErrorKind::UnknownOp,
                "PRelu runs through its own path".into(),
            )),
        }
    }

    /// PRelu's slope blob (`None` for other operators): the one input whose values
    /// an operator checks ([`Operator::plan_outputs`]).
    pub(crate) fn checked_values(&self) -> Option<&str> {
        matches!(self.params, Params::Prelu(_)).then(|| self.slope_blob())
    }

    /// The blob holding PRelu's slope: `Slope` (input 1) of PRelu, `W` (input 3) of
    /// PReluGradient.
    fn slope_blob(&self) -> &str {
        let i = if self.schema.family() == Family::PRelu {
            1
        } else {
            3
        };
        &self.def.inputs[i]
    }

    /// A refusal of the PRelu API as an operator error (a non-finite slope names its
    /// blob; the shapes were checked by the plan).
    fn slope_error(&self, e: Error, blob: &str) -> Error {
        match e {
            Error::Operator { .. } => e,
            Error::InvalidSlope { .. } => op_error(
                self.schema.name(),
                OpErrorKind::ArgumentValue,
                format!("input `{blob}`: {e}"),
            ),
            other => op_error(
                self.schema.name(),
                OpErrorKind::ShapeMismatch,
                other.to_string(),
            ),
        }
    }

    /// PRelu and PReluGradient. The slope values are checked (finite) here, before
    /// anything is written.
    fn execute_prelu<T: TensorElement + Element>(
        &self,
        p: Prelu,
        ws: &mut Workspace,
    ) -> Result<(), Error> {
        let ins = &self.def.inputs;
        if self.schema.family() == Family::PRelu {
            let (x, out) = (&ins[0], &self.def.outputs[0]);
            let w = self.slice::<T>(ws, &ins[1])?.to_vec();
            let dims = ws.get(x).ok_or_else(|| self.missing(x))?.dims().to_vec();
            if x == out {
                let t = ws.get_mut(x).ok_or_else(|| self.missing(x))?;
                let s = t
                    .as_mut_slice::<T>()
                    .ok_or_else(|| self.wrong_type(x, T::DTYPE))?;
                return p
                    .forward_in_place(s, &dims, &w)
                    .map_err(|e| self.slope_error(e, &ins[1]));
            }
            let n = ws.get(x).map_or(0, Tensor::numel);
            let mut slot = Slot::<T>::take(ws, out, n);
            let r = self
                .slice::<T>(ws, x)
                .and_then(|xs| p.forward(xs, &dims, &w, slot.buf()))
                .map_err(|e| self.slope_error(e, &ins[1]));
            return slot.finish(ws, out, dims, r);
        }
        // PReluGradient: inputs Y (not read), dY, X, W; outputs dX, dW (distinct from
        // every input and from each other: the schema allows no in-place pair).
        let (dy, x, wname) = (&ins[1], &ins[2], &ins[3]);
        let (gx, gw) = (&self.def.outputs[0], &self.def.outputs[1]);
        let w = self.slice::<T>(ws, wname)?.to_vec();
        let wdims = ws
            .get(wname)
            .ok_or_else(|| self.missing(wname))?
            .dims()
            .to_vec();
        let dims = ws.get(x).ok_or_else(|| self.missing(x))?.dims().to_vec();
        let n = ws.get(x).map_or(0, Tensor::numel);
        let mut sx = Slot::<T>::take(ws, gx, n);
        let mut sw = Slot::<T>::take(ws, gw, w.len());
        let r = self
            .slice::<T>(ws, x)
            .and_then(|xs| {
                let ds = self.slice::<T>(ws, dy)?;
                p.backward(xs, ds, &dims, &w, sx.buf(), sw.buf())
            })
            .map_err(|e| self.slope_error(e, wname));
        // Both slots are finished (a refusal puts both old blobs back).
        let r2 = r.clone();
        let a = sx.finish(ws, gx, dims, r);
        let b = sw.finish(ws, gw, wdims, r2);
        a.and(b)
    }

    /// The refusal of a quantized operator whose input has no quantization.
    fn no_quant(&self) -> Error {
        op_error(
            self.schema.name(),
            OpErrorKind::TypeMismatch,
            format!(
                "input `{}` has no quantization parameters",
                self.def.inputs[0]
            ),
        )
    }

    /// Int8LeakyRelu's op for an input quantized as `q`: the input's parameters
    /// first, then QNNPACK's checks of the whole set (the scale ratio needs both).
    fn int8_leaky(&self, q: Option<QuantParams>) -> Result<Int8LeakyRelu, Error> {
        let name = self.schema.name();
        let q = q.ok_or_else(|| self.no_quant())?;
        let Params::Int8Leaky { alpha, y } = self.params else {
            return Err(op_error(
                name,
                OpErrorKind::ArgumentValue,
                "not Int8LeakyRelu".into(),
            ));
        };
        Int8LeakyRelu::new(alpha, q, y).map_err(|e| {
            op_error(
                name,
                OpErrorKind::ArgumentValue,
                format!("with the input's scale {:?}: {e}", q.scale),
            )
        })
    }

    fn execute_int8(&self, ws: &mut Workspace) -> Result<(), Error> {
        let (x, out) = (&self.def.inputs[0], &self.def.outputs[0]);
        let t = ws.get(x).ok_or_else(|| self.missing(x))?;
        if let Params::Int8Leaky { .. } = self.params {
            let op = self.int8_leaky(t.quant())?;
            if x == out {
                let (dims, mut data, _) = ws.take(x).ok_or_else(|| self.missing(x))?.into_parts();
                if let super::tensor::TensorData::U8(v) = &mut data {
                    op.forward_in_place(v);
                    ws.put(x, Tensor::from_parts(dims, data, Some(op.output())));
                    return Ok(());
                }
                ws.put(x, Tensor::from_parts(dims, data, Some(op.input())));
                return Err(self.wrong_type(x, DataType::U8));
            }
            let xs = t.as_u8().ok_or_else(|| self.wrong_type(x, DataType::U8))?;
            let mut y = vec![0u8; xs.len()];
            op.forward(xs, &mut y)?;
            let dims = t.dims().to_vec();
            ws.put(out, Tensor::quantized(dims, y, op.output())?);
            return Ok(());
        }
        let q = t.quant().ok_or_else(|| self.wrong_type(x, DataType::U8))?;
        if x == out {
            let t = ws.get_mut(x).ok_or_else(|| self.missing(x))?;
            match t.data_mut() {
                super::tensor::TensorData::U8(v) => int8_relu_in_place(v, q.zero_point),
                _ => return Err(self.wrong_type(x, DataType::U8)),
            }
            return Ok(());
        }
        let xs = t.as_u8().ok_or_else(|| self.wrong_type(x, DataType::U8))?;
        let mut y = vec![0u8; xs.len()];
        int8_relu(xs, &mut y, q.zero_point)?;
        let dims = t.dims().to_vec();
        ws.put(out, Tensor::quantized(dims, y, q)?);
        Ok(())
    }
}

/// A fill operator is planned before the match that reaches this (it returns early).
fn unreachable_fill(name: &str) -> Result<Meta, Error> {
    Err(op_error(
        name,
        OpErrorKind::UnknownOp,
        "a fill operator reached the planning of an operator with inputs".into(),
    ))
}
