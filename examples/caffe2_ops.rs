//! The Caffe2 operator layer from the command line.
//!
//! ```text
//! cargo run --example caffe2_ops -- list
//! cargo run --example caffe2_ops -- write-example relu_net.pb
//! cargo run --example caffe2_ops -- run relu_net.pb [--dtype f32|f64|u8] [--dims 2,3,4]
//! ```
//!
//! `list` prints every registered schema. `write-example` writes a forward+backward
//! net (Relu -> ReluN -> LeakyRelu and its gradient operators) in Caffe2's protobuf
//! format. `run` reads a `NetDef` file, feeds every blob the net reads before writing
//! it with deterministic values, runs the net and prints each output blob's type,
//! shape and an FNV-1a checksum of its bits (the same on every ISA: the kernels are
//! bit-exact).

use std::process::ExitCode;

use caffe2op_relu::ops::{
    ArgValue, DataType, NetDef, OperatorDef, Tensor, Workspace, registered_ops, with_gradients,
};
use caffe2op_relu::{Error, Isa, QuantParams};

const USAGE: &str = "usage: caffe2_ops list\n       caffe2_ops write-example PATH\n       \
                     caffe2_ops run NET.pb [--dtype f32|f64|u8] [--dims 2,3,4]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("list") if args.len() == 1 => {
            list();
            Ok(())
        }
        Some("write-example") if args.len() == 2 => write_example(&args[1]),
        Some("run") if args.len() >= 2 => run(&args[1], &args[2..]),
        _ => Err(USAGE.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("caffe2_ops: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn list() {
    println!(
        "{} registered operators (N elements of s bytes each):\n",
        registered_ops().len()
    );
    for s in registered_ops() {
        println!("{s}\n");
    }
}

fn example_net() -> NetDef {
    NetDef::new("relu_family")
        .op(OperatorDef::new("Relu").input("X").output("A"))
        .op(OperatorDef::new("ReluN")
            .input("A")
            .output("B")
            .arg("n", 6.0))
        .op(OperatorDef::new("LeakyRelu")
            .input("B")
            .output("C")
            .arg("alpha", 0.01))
}

fn write_example(path: &str) -> Result<(), String> {
    let net = with_gradients(&example_net()).map_err(|e| e.to_string())?;
    let bytes = net.to_bytes().map_err(|e| e.to_string())?;
    std::fs::write(path, &bytes).map_err(|e| format!("cannot write {path}: {e}"))?;
    print!("{net}");
    println!("wrote {} bytes to {path}", bytes.len());
    Ok(())
}

fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Deterministic values in [-8, 8] in quarter steps (exact in every float type; zero,
/// negatives and values beyond ReluN's default n = 6 all appear), different per blob.
fn float_values(n: usize, salt: usize) -> Vec<f64> {
    (0..n)
        .map(|i| ((i * 37 + salt * 11) % 65) as f64 / 4.0 - 8.0)
        .collect()
}

fn feed(
    ws: &mut Workspace,
    net: &NetDef,
    blob: &str,
    dtype: DataType,
    dims: &[usize],
    salt: usize,
) -> Result<(), Error> {
    let n = caffe2op_relu::ops::numel(dims)?;
    let t = match dtype {
        DataType::F32 => Tensor::from_vec(
            dims.to_vec(),
            float_values(n, salt)
                .into_iter()
                .map(|v| v as f32)
                .collect(),
        )?,
        DataType::F64 => Tensor::from_vec(dims.to_vec(), float_values(n, salt))?,
        DataType::F16 => Tensor::from_vec(
            dims.to_vec(),
            float_values(n, salt)
                .into_iter()
                .map(half::f16::from_f64)
                .collect(),
        )?,
        DataType::Bf16 => Tensor::from_vec(
            dims.to_vec(),
            float_values(n, salt)
                .into_iter()
                .map(half::bf16::from_f64)
                .collect(),
        )?,
        DataType::U8 => {
            // Quantization from the first Int8Relu that reads the blob (its Y_scale and
            // Y_zero_point must match), else scale 0.05 and zero point 128.
            let reader = net
                .ops
                .iter()
                .find(|o| o.op_type == "Int8Relu" && o.inputs.iter().any(|i| i == blob));
            let get = |name| reader.and_then(|o| o.get_arg(name));
            let scale = match get("Y_scale") {
                Some(ArgValue::Float(s)) => *s,
                _ => 0.05,
            };
            let zero_point = match get("Y_zero_point") {
                Some(ArgValue::Int(z)) => u8::try_from(*z).unwrap_or(128),
                _ => 128,
            };
            let data = (0..n).map(|i| ((i * 37 + salt * 11) % 256) as u8).collect();
            Tensor::quantized(dims.to_vec(), data, QuantParams { scale, zero_point })?
        }
    };
    ws.feed_blob(blob, t);
    Ok(())
}

fn parse_options(opts: &[String]) -> Result<(DataType, Vec<usize>), String> {
    let (mut dtype, mut dims) = (DataType::F32, vec![2, 3, 4]);
    let mut it = opts.iter();
    while let Some(o) = it.next() {
        let v = it
            .next()
            .ok_or_else(|| format!("{o} needs a value\n{USAGE}"))?;
        match o.as_str() {
            "--dtype" => {
                dtype = DataType::ALL
                    .into_iter()
                    .find(|d| d.name() == v)
                    .ok_or_else(|| format!("unknown dtype `{v}` (f32, f64, f16, bf16, u8)"))?;
            }
            "--dims" => {
                dims = v
                    .split(',')
                    .map(|d| {
                        d.trim()
                            .parse::<usize>()
                            .map_err(|e| format!("bad dim `{d}`: {e}"))
                    })
                    .collect::<Result<_, _>>()?;
            }
            other => return Err(format!("unknown option `{other}`\n{USAGE}")),
        }
    }
    Ok((dtype, dims))
}

fn run(path: &str, opts: &[String]) -> Result<(), String> {
    let (dtype, dims) = parse_options(opts)?;
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let net = NetDef::from_bytes(&bytes).map_err(|e| format!("{path}: {e}"))?;
    print!("{net}");
    println!("default ISA: {}", Isa::dispatched());

    // Inputs: declared external inputs, and every blob read before any op writes it.
    let mut inputs: Vec<String> = net.external_inputs.clone();
    let mut written: Vec<&str> = Vec::new();
    for op in &net.ops {
        for i in &op.inputs {
            if !written.contains(&i.as_str()) && !inputs.contains(i) {
                inputs.push(i.clone());
            }
        }
        written.extend(op.outputs.iter().map(String::as_str));
    }
    let mut ws = Workspace::new();
    for (salt, blob) in inputs.iter().enumerate() {
        feed(&mut ws, &net, blob, dtype, &dims, salt).map_err(|e| e.to_string())?;
        let t = ws.fetch_blob(blob).map_err(|e| e.to_string())?;
        println!("fed   {blob}: {} {:?}", t.dtype(), t.dims());
    }
    ws.run_net(&net).map_err(|e| e.to_string())?;
    let mut shown: Vec<&str> = Vec::new();
    for blob in net.ops.iter().flat_map(|o| o.outputs.iter()) {
        if shown.contains(&blob.as_str()) {
            continue;
        }
        shown.push(blob);
        let t = ws.fetch_blob(blob).map_err(|e| e.to_string())?;
        let q = t
            .quant()
            .map(|q| format!(" scale {} zero_point {}", q.scale, q.zero_point))
            .unwrap_or_default();
        println!(
            "output {blob}: {} {:?}{q} fnv1a64 {:#018x}",
            t.dtype(),
            t.dims(),
            fnv1a64(&t.data().to_le_bytes())
        );
    }
    Ok(())
}
