//! A progress bar on stderr while the report measures. It is drawn only when stderr is
//! a terminal (indicatif hides a bar whose stderr target is not one), and it is
//! redrawn only between measurements, never from a thread of its own, so it takes no
//! time from the cells.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A bar of `steps` steps.
    pub fn new(steps: usize) -> Progress {
        let bar = ProgressBar::with_draw_target(Some(steps as u64), ProgressDrawTarget::stderr());
        if let Ok(style) =
            ProgressStyle::with_template("{elapsed:>4} [{bar:32}] {pos}/{len} {wide_msg}")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        Progress { bar }
    }

    /// Names the step now running.
    pub fn start(&self, what: String) {
        self.bar.set_message(what);
    }

    /// One step done.
    pub fn done(&self) {
        self.bar.inc(1);
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
