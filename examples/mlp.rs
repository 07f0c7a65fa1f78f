//! One MLP layer, `h = leaky_relu(x · W + b)`, trained for a few steps of gradient
//! descent on `ndarray` data, with the activation's forward and backward passes run by
//! this crate.
//!
//! ```text
//! cargo run --release --features ndarray --example mlp            # batch 256, 512 -> 1024
//! cargo run --release --features ndarray --example mlp -- --quick # a small layer (CI)
//! ```
//!
//! What it shows:
//! - the forward pass writes the activation **in place** over the pre-activation `z`
//!   (Caffe2's in-place pair {0, 0}): the backward pass only needs the forward
//!   *output* `h`, so `z` need not be kept;
//! - the backward pass overwrites the upstream gradient `dh` with `dz` in place
//!   (Caffe2's pair {1, 0});
//! - a transposed view (`x.t()`, Fortran order) and a strided view go through the
//!   array API too, bit for bit equal to the element-wise oracle;
//! - the analytic gradient of `W` matches central finite differences (in `f64`).
//!
//! The example exits with an error if the loss does not decrease, if an activation
//! output differs from the oracle or if the gradient check fails.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use caffe2op_relu::{Activation, Element, Error, Kernel};
use ndarray::{Array1, Array2, Axis, s};

/// Sizes of one run.
struct Config {
    batch: usize,
    inputs: usize,
    outputs: usize,
    steps: usize,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cfg = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        [] => Config {
            batch: 256,
            inputs: 512,
            outputs: 1024,
            steps: 20,
        },
        ["--quick"] => Config {
            batch: 16,
            inputs: 32,
            outputs: 48,
            steps: 10,
        },
        _ => {
            eprintln!("usage: mlp [--quick]");
            return ExitCode::from(2);
        }
    };
    match run(&cfg) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mlp: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A deterministic pseudo-random stream (splitmix64) in `[-1, 1)`.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }
    fn matrix(&mut self, rows: usize, cols: usize, scale: f64) -> Array2<f64> {
        Array2::from_shape_simple_fn((rows, cols), || self.next() * scale)
    }
}

/// The layer's parameters and the activation kernel.
struct Layer<T> {
    w: Array2<T>,
    b: Array1<T>,
    act: Kernel,
}

/// What one forward + backward step computed.
struct Step<T> {
    loss: f64,
    h: Array2<T>,
    dw: Array2<T>,
    db: Array1<T>,
    activation_time: Duration,
}

impl<T: Element + ndarray::LinalgScalar + Into<f64>> Layer<T> {
    /// Forward `h = act(x · W + b)`, loss `0.5 · Σ (h - target)²`, and backward
    /// `dW = xᵀ · dz`, `db = Σ_batch dz` with `dz = act'(h) · (h - target)`.
    fn step(&self, x: &Array2<T>, target: &Array2<T>) -> Result<Step<T>, Error> {
        let mut z = x.dot(&self.w) + &self.b;
        let t0 = Instant::now();
        // Forward in place: z becomes h (the backward pass needs only h).
        self.act.forward_array_in_place(&mut z)?;
        let mut activation_time = t0.elapsed();
        let h = z;

        let mut dh = &h - target;
        let loss = dh.iter().map(|&d| 0.5 * d.into() * d.into()).sum();
        let t0 = Instant::now();
        // Backward in place: dh becomes dz.
        self.act.backward_array_in_place(&h, &mut dh)?;
        activation_time += t0.elapsed();
        let dz = dh;

        let dw = x.t().dot(&dz); // xᵀ is a Fortran-order view: no copy
        let db = dz.sum_axis(Axis(0));
        Ok(Step {
            loss,
            h,
            dw,
            db,
            activation_time,
        })
    }
}

fn cast<T: Element>(a: &Array2<f64>) -> Array2<T> {
    a.mapv(T::from_f64)
}

fn run(cfg: &Config) -> Result<(), String> {
    let act = Kernel::new(Activation::leaky_relu(0.01).map_err(|e| e.to_string())?);
    println!(
        "MLP layer: batch {} x {} inputs -> {} outputs, leaky_relu(0.01) on {}",
        cfg.batch,
        cfg.inputs,
        cfg.outputs,
        act.isa()
    );
    let mut rng = Rng(42);
    let x = rng.matrix(cfg.batch, cfg.inputs, 1.0);
    // A target the layer can fit: the output of a hidden "teacher" layer.
    let teacher = rng.matrix(cfg.inputs, cfg.outputs, 1.0 / (cfg.inputs as f64).sqrt());
    let mut target = x.dot(&teacher);
    act.forward_array_in_place(&mut target)
        .map_err(|e| e.to_string())?;

    gradient_check(&mut rng, act)?;
    views_match_oracle(&mut rng, act)?;

    // Train in f32.
    let x32: Array2<f32> = cast(&x);
    let t32: Array2<f32> = cast(&target);
    let mut layer = Layer {
        w: cast(&rng.matrix(cfg.inputs, cfg.outputs, 0.1)),
        b: Array1::zeros(cfg.outputs),
        act,
    };
    let lr = 1.0 / (cfg.batch * cfg.inputs) as f32;
    let mut losses = Vec::new();
    let (mut act_time, t_all) = (Duration::ZERO, Instant::now());
    for step in 0..cfg.steps {
        let s = layer.step(&x32, &t32).map_err(|e| e.to_string())?;
        if step == 0 {
            check_output(&x32, &layer, &s.h)?;
        }
        layer.w.scaled_add(-lr, &s.dw);
        layer.b.scaled_add(-lr, &s.db);
        act_time += s.activation_time;
        losses.push(s.loss);
        println!("step {step:3}: loss {:.6e}", s.loss);
    }
    let total = t_all.elapsed();
    println!(
        "activation forward+backward: {:.3} ms of {:.3} ms total ({} steps)",
        act_time.as_secs_f64() * 1e3,
        total.as_secs_f64() * 1e3,
        cfg.steps
    );
    let (first, last) = (losses[0], losses[losses.len() - 1]);
    if last.is_nan() || last >= first {
        return Err(format!("the loss did not decrease: {first} -> {last}"));
    }
    println!("loss {first:.4e} -> {last:.4e}: ok");
    Ok(())
}

/// The first step's activations equal the oracle applied to `x · W + b`, bit for bit.
fn check_output(x: &Array2<f32>, layer: &Layer<f32>, h: &Array2<f32>) -> Result<(), String> {
    let z = x.dot(&layer.w) + &layer.b;
    let a = layer.act.activation();
    for ((idx, &zv), &hv) in z.indexed_iter().zip(h.iter()) {
        let want = a.oracle_forward(zv).map_err(|e| e.to_string())?;
        if want.to_bits() != hv.to_bits() {
            return Err(format!("h{idx:?} = {hv:?}, oracle {want:?} (z = {zv:?})"));
        }
    }
    println!("forward output: {} elements equal the oracle", h.len());
    Ok(())
}

/// Analytic `dW` against central finite differences, in f64, on a tiny layer.
fn gradient_check(rng: &mut Rng, act: Kernel) -> Result<(), String> {
    let (batch, inputs, outputs) = (4, 5, 3);
    let x = rng.matrix(batch, inputs, 1.0);
    let target = rng.matrix(batch, outputs, 1.0);
    let mut layer = Layer::<f64> {
        w: rng.matrix(inputs, outputs, 1.0),
        b: Array1::from_shape_simple_fn(outputs, || rng.next()),
        act,
    };
    let s = layer.step(&x, &target).map_err(|e| e.to_string())?;
    let eps = 1e-6;
    let mut worst = 0.0f64;
    for i in 0..inputs {
        for j in 0..outputs {
            let w0 = layer.w[[i, j]];
            layer.w[[i, j]] = w0 + eps;
            let up = layer.step(&x, &target).map_err(|e| e.to_string())?.loss;
            layer.w[[i, j]] = w0 - eps;
            let down = layer.step(&x, &target).map_err(|e| e.to_string())?.loss;
            layer.w[[i, j]] = w0;
            let numeric = (up - down) / (2.0 * eps);
            let err = (numeric - s.dw[[i, j]]).abs() / numeric.abs().max(1.0);
            worst = worst.max(err);
        }
    }
    // The bias gradient too: db is the column sum of dz.
    let dz_sum: f64 = s.db.sum();
    println!(
        "gradient check (f64, {inputs}x{outputs} weights): worst relative error {worst:.2e}, sum(db) {dz_sum:.4}"
    );
    if worst > 1e-5 {
        return Err(format!(
            "analytic dW differs from finite differences by {worst:.2e}"
        ));
    }
    Ok(())
}

/// Transposed and strided views go through the array API with the oracle's bits.
fn views_match_oracle(rng: &mut Rng, act: Kernel) -> Result<(), String> {
    let z: Array2<f32> = cast(&rng.matrix(64, 48, 4.0));
    let a = act.activation();
    // Transposed input (Fortran order) into a C-order output.
    let mut h = Array2::<f32>::zeros((48, 64));
    act.forward_array(&z.t(), &mut h)
        .map_err(|e| e.to_string())?;
    // Every other row of z into a strided output.
    let mut wide = Array2::<f32>::zeros((32, 96));
    act.forward_array(&z.slice(s![..;2, ..]), &mut wide.slice_mut(s![.., ..;2]))
        .map_err(|e| e.to_string())?;
    for ((i, j), &v) in h.indexed_iter() {
        let want = a.oracle_forward(z[[j, i]]).map_err(|e| e.to_string())?;
        if want.to_bits() != v.to_bits() {
            return Err(format!(
                "transposed view: h[{i}, {j}] = {v:?}, oracle {want:?}"
            ));
        }
    }
    for ((i, j), &v) in wide.indexed_iter() {
        let want = if j % 2 == 0 {
            a.oracle_forward(z[[2 * i, j / 2]])
                .map_err(|e| e.to_string())?
        } else {
            0.0
        };
        if want.to_bits() != v.to_bits() {
            return Err(format!(
                "strided view: wide[{i}, {j}] = {v:?}, expected {want:?}"
            ));
        }
    }
    println!("transposed and strided views: equal to the oracle");
    Ok(())
}
