//! The Caffe2 operator layer from the command line.
//!
//! ```text
//! cargo run --example caffe2_ops -- list
//! cargo run --example caffe2_ops -- write-example relu_net.pb
//! cargo run --example caffe2_ops -- write-model DIR
//! cargo run --example caffe2_ops -- run PREDICT.pb [--init INIT.pb] [--inputs IN.pb]
//!     [--save OUT.pb] [--dtype f32|f64|f16|bf16|u8] [--dims 2,3,4]
//! cargo run --example caffe2_ops -- show TENSORS.pb
//! ```
//!
//! `list` prints every registered schema. `write-example` writes a forward+backward
//! net (Relu -> ReluN -> LeakyRelu and its gradient operators) in Caffe2's protobuf
//! format. `write-model` writes a model as Caffe2 ships one: `DIR/init.pb` (fill
//! operators holding the weights), `DIR/predict.pb` and `DIR/inputs.pb` (a
//! `TensorProtos` file).
//!
//! `run` runs the init net (if given) in an empty workspace, feeds the tensors of
//! `IN.pb` (each `TensorProto`'s name is its blob), feeds every other blob the predict
//! net reads before writing it with deterministic values of `--dtype` and `--dims`,
//! runs the predict net and prints each output blob's type, shape and an FNV-1a
//! checksum of its bits (the same on every ISA: the kernels are bit-exact). With
//! `--save` it writes the predict net's external outputs (every blob its operators
//! write, if it declares none) to `OUT.pb` as `TensorProtos`, once everything has run;
//! a refusal anywhere writes no file.
//!
//! A `u8` tensor read from a file is fed with the scale and zero point of the first
//! Int8Relu that reads it (its `Y_scale`, `Y_zero_point`), since `TensorProto` has no
//! field for them; else with scale 1 and zero point 0. `show` prints the tensors of a
//! `TensorProtos` file with their checksums.

use std::process::ExitCode;

use caffe2op_relu::ops::{
    ArgValue, DataType, NetDef, OperatorDef, Tensor, TensorData, TensorProtos, Workspace,
    registered_ops, with_gradients,
};
use caffe2op_relu::{Error, Isa, QuantParams};

const USAGE: &str = "usage: caffe2_ops list\n       caffe2_ops write-example PATH\n       \
                     caffe2_ops write-model DIR\n       caffe2_ops run PREDICT.pb [--init \
                     INIT.pb] [--inputs IN.pb] [--save OUT.pb] [--dtype \
                     f32|f64|f16|bf16|u8] [--dims 2,3,4]\n       caffe2_ops show TENSORS.pb";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("list") if args.len() == 1 => {
            list();
            Ok(())
        }
        Some("write-example") if args.len() == 2 => write_example(&args[1]),
        Some("write-model") if args.len() == 2 => write_model(&args[1]),
        Some("show") if args.len() == 2 => show(&args[1]),
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

/// The quantization of the first Int8Relu that reads `blob` (its `Y_scale` and
/// `Y_zero_point` must match its input's), else `default`.
fn int8_quant(net: &NetDef, blob: &str, default: QuantParams) -> QuantParams {
    let reader = net
        .ops
        .iter()
        .find(|o| o.op_type == "Int8Relu" && o.inputs.iter().any(|i| i == blob));
    let get = |name| reader.and_then(|o| o.get_arg(name));
    let scale = match get("Y_scale") {
        Some(ArgValue::Float(s)) => *s,
        _ => default.scale,
    };
    let zero_point = match get("Y_zero_point") {
        Some(ArgValue::Int(z)) => u8::try_from(*z).unwrap_or(default.zero_point),
        _ => default.zero_point,
    };
    QuantParams { scale, zero_point }
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
            // Quantization from the first Int8Relu that reads the blob, else scale 0.05
            // and zero point 128.
            let q = int8_quant(
                net,
                blob,
                QuantParams {
                    scale: 0.05,
                    zero_point: 128,
                },
            );
            let data = (0..n).map(|i| ((i * 37 + salt * 11) % 256) as u8).collect();
            Tensor::quantized(dims.to_vec(), data, q)?
        }
        DataType::I32 => Tensor::from_i32(
            dims.to_vec(),
            float_values(n, salt)
                .into_iter()
                .map(|v| (v * 4.0) as i32)
                .collect(),
        )?,
    };
    ws.feed_blob(blob, t);
    Ok(())
}

struct Options {
    dtype: DataType,
    dims: Vec<usize>,
    init: Option<String>,
    inputs: Option<String>,
    save: Option<String>,
}

fn parse_options(opts: &[String]) -> Result<Options, String> {
    let mut o = Options {
        dtype: DataType::F32,
        dims: vec![2, 3, 4],
        init: None,
        inputs: None,
        save: None,
    };
    let mut it = opts.iter();
    while let Some(flag) = it.next() {
        let v = it
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        match flag.as_str() {
            "--dtype" => {
                o.dtype = DataType::ALL
                    .into_iter()
                    .find(|d| d.name() == v)
                    .ok_or_else(|| format!("unknown dtype `{v}` (f32, f64, f16, bf16, u8, i32)"))?;
            }
            "--dims" => {
                o.dims = v
                    .split(',')
                    .map(|d| {
                        d.trim()
                            .parse::<usize>()
                            .map_err(|e| format!("bad dim `{d}`: {e}"))
                    })
                    .collect::<Result<_, _>>()?;
            }
            "--init" => o.init = Some(v.clone()),
            "--inputs" => o.inputs = Some(v.clone()),
            "--save" => o.save = Some(v.clone()),
            other => return Err(format!("unknown option `{other}`\n{USAGE}")),
        }
    }
    Ok(o)
}

fn read(path: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))
}

fn read_net(path: &str) -> Result<NetDef, String> {
    NetDef::from_bytes(&read(path)?).map_err(|e| format!("{path}: {e}"))
}

fn read_tensors(path: &str) -> Result<TensorProtos, String> {
    TensorProtos::from_bytes(&read(path)?).map_err(|e| format!("{path}: {e}"))
}

fn describe(t: &Tensor) -> String {
    let q = t
        .quant()
        .map(|q| format!(" scale {} zero_point {}", q.scale, q.zero_point))
        .unwrap_or_default();
    format!(
        "{} {:?}{q} fnv1a64 {:#018x}",
        t.dtype(),
        t.dims(),
        fnv1a64(&t.data().to_le_bytes())
    )
}

fn run(path: &str, opts: &[String]) -> Result<(), String> {
    let o = parse_options(opts)?;
    let net = read_net(path)?;
    let init = o.init.as_deref().map(read_net).transpose()?;
    let fed = match o.inputs.as_deref() {
        Some(p) => read_tensors(p)?,
        None => TensorProtos::default(),
    };
    if let Some(init) = &init {
        print!("{init}");
    }
    print!("{net}");
    println!("default ISA: {}", Isa::dispatched());

    let mut ws = Workspace::new();
    if let Some(init) = &init {
        ws.run_net(init).map_err(|e| format!("init net: {e}"))?;
        for (blob, t) in ws.blobs() {
            println!("init  {blob}: {}", describe(t));
        }
    }
    for (blob, t) in fed.tensors {
        let file = o.inputs.as_deref().unwrap_or_default();
        if blob.is_empty() {
            return Err(format!("{file}: a tensor has no name (its blob)"));
        }
        if ws.has_blob(&blob) {
            return Err(format!(
                "{file}: tensor `{blob}` is named twice, or is also written by the init net"
            ));
        }
        let t = match t.as_u8() {
            Some(codes) => {
                let q = int8_quant(
                    &net,
                    &blob,
                    QuantParams {
                        scale: 1.0,
                        zero_point: 0,
                    },
                );
                Tensor::quantized(t.dims().to_vec(), codes.to_vec(), q)
                    .map_err(|e| format!("{file}: tensor `{blob}`: {e}"))?
            }
            None => t,
        };
        println!("read  {blob}: {}", describe(&t));
        ws.feed_blob(blob, t);
    }

    // Generated inputs: declared external inputs, and every blob read before any op
    // writes it, that neither the init net nor the inputs file provided.
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
    for (salt, blob) in inputs.iter().enumerate() {
        if ws.has_blob(blob) {
            continue;
        }
        feed(&mut ws, &net, blob, o.dtype, &o.dims, salt).map_err(|e| e.to_string())?;
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
        println!("output {blob}: {}", describe(t));
    }
    if let Some(out) = &o.save {
        let names: Vec<&str> = if net.external_outputs.is_empty() {
            shown
        } else {
            net.external_outputs.iter().map(String::as_str).collect()
        };
        let mut file = TensorProtos::default();
        for name in names {
            let t = ws
                .fetch_blob(name)
                .map_err(|e| format!("external output: {e}"))?;
            file.tensors.push((name.to_string(), t.clone()));
        }
        let bytes = file.to_bytes().map_err(|e| format!("{out}: {e}"))?;
        std::fs::write(out, &bytes).map_err(|e| format!("cannot write {out}: {e}"))?;
        println!(
            "saved {} tensors ({} bytes) to {out}",
            file.tensors.len(),
            bytes.len()
        );
    }
    Ok(())
}

fn show(path: &str) -> Result<(), String> {
    let file = read_tensors(path)?;
    for (name, t) in &file.tensors {
        println!("{name}: {}", describe(t));
        println!("    {}", values(t));
    }
    Ok(())
}

/// The first elements of `t` (at most 16), as Rust prints them.
fn values(t: &Tensor) -> String {
    fn first<T: std::fmt::Debug>(v: &[T]) -> String {
        let more = if v.len() > 16 { ", ..." } else { "" };
        let shown: Vec<String> = v.iter().take(16).map(|x| format!("{x:?}")).collect();
        format!("[{}{more}]", shown.join(", "))
    }
    match t.data() {
        TensorData::F32(v) => first(v),
        TensorData::F64(v) => first(v),
        TensorData::F16(v) => first(v),
        TensorData::Bf16(v) => first(v),
        TensorData::U8(v) => first(v),
        TensorData::I32(v) => first(v),
    }
}

/// The example model: an init net of one fill operator of each kind, a predict net
/// that runs each of the family's forward operators on them and on two inputs, and
/// the inputs.
fn example_model() -> Result<(NetDef, NetDef, TensorProtos), Error> {
    let mut init = NetDef::new("example_init")
        .op(OperatorDef::new("GivenTensorFill")
            .output("W")
            .arg("shape", vec![2i64, 3])
            .arg("values", vec![-1.5f32, -0.0, 0.0, 2.5, 7.0, -1e-40]))
        .op(OperatorDef::new("GivenTensorDoubleFill")
            .output("D")
            .arg("shape", vec![4i64])
            .arg("values", vec![-3.0f32, 0.25, 9.5, -0.0]))
        .op(OperatorDef::new("ConstantFill")
            .output("C")
            .arg("shape", vec![3i64])
            .arg("value", 6.5f32))
        .op(OperatorDef::new("GivenTensorIntFill")
            .output("I")
            .arg("shape", vec![2i64])
            .arg("values", vec![7i64, -9]))
        .op(OperatorDef::new("Int8GivenTensorFill")
            .output("Q")
            .arg("shape", vec![4i64])
            .arg("values", ArgValue::Bytes(vec![0, 100, 128, 255]))
            .arg("Y_scale", 0.05f32)
            .arg("Y_zero_point", 128i64));
    init.external_outputs = ["W", "D", "C", "I", "Q"].map(String::from).to_vec();
    let mut predict = NetDef::new("example_predict")
        .op(OperatorDef::new("LeakyRelu")
            .input("W")
            .output("WL")
            .arg("alpha", 0.25f32))
        .op(OperatorDef::new("Clip")
            .input("D")
            .output("DC")
            .arg("min", -1.0f32)
            .arg("max", 2.0f32))
        .op(OperatorDef::new("ReluN")
            .input("C")
            .output("CN")
            .arg("n", 6.0f32))
        .op(OperatorDef::new("Int8Relu")
            .input("Q")
            .output("QR")
            .arg("Y_scale", 0.05f32)
            .arg("Y_zero_point", 128i64))
        .op(OperatorDef::new("Int8LeakyRelu")
            .input("Q")
            .output("QL")
            .arg("alpha", 0.25f32)
            .arg("Y_scale", 0.1f32)
            .arg("Y_zero_point", 64i64))
        .op(OperatorDef::new("Relu").input("X").output("XR"))
        .op(OperatorDef::new("ReluN").input("XR").output("XN"))
        .op(OperatorDef::new("Relu").input("H").output("HR"));
    predict.external_inputs = ["W", "D", "C", "Q", "X", "H"].map(String::from).to_vec();
    predict.external_outputs = ["WL", "DC", "CN", "QR", "QL", "XN", "HR"]
        .map(String::from)
        .to_vec();
    let x: Vec<f32> = vec![-2.0, -0.0, 0.5, f32::NAN, 6.5, 1e-45];
    let h: Vec<half::f16> = [-1.0f32, 0.0, 3.0, 100.0]
        .into_iter()
        .map(half::f16::from_f32)
        .collect();
    let inputs = TensorProtos {
        tensors: vec![
            ("X".to_string(), Tensor::from_vec(vec![2, 3], x)?),
            ("H".to_string(), Tensor::from_vec(vec![4], h)?),
        ],
    };
    Ok((init, predict, inputs))
}

fn write_model(dir: &str) -> Result<(), String> {
    let (init, predict, inputs) = example_model().map_err(|e| e.to_string())?;
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {dir}: {e}"))?;
    let files = [
        ("init.pb", init.to_bytes()),
        ("predict.pb", predict.to_bytes()),
        ("inputs.pb", inputs.to_bytes()),
    ];
    print!("{init}{predict}");
    for (name, bytes) in files {
        let bytes = bytes.map_err(|e| e.to_string())?;
        let path = format!("{dir}/{name}");
        std::fs::write(&path, &bytes).map_err(|e| format!("cannot write {path}: {e}"))?;
        println!("wrote {} bytes to {path}", bytes.len());
    }
    Ok(())
}
