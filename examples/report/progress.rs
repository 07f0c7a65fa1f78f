//! A progress bar on stderr while the report measures. It is drawn only when stderr is
//! a terminal (indicatif hides a bar whose stderr target is not one), and it is
//! redrawn only between measurements, never from a thread of its own, so it takes no
//! time from the cells.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A bar with nothing to do yet.
    pub fn new() -> Progress {
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        if let Ok(style) =
            ProgressStyle::with_template("{elapsed:>4} [{bar:32}] {percent:>3}% {wide_msg}")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        Progress { bar }
    }

    /// The work to do, in the units `done` counts.
    pub fn set_total(&self, total: u64) {
        self.bar.set_length(total);
    }

    /// Names the step now running.
    pub fn start(&self, what: String) {
        self.bar.set_message(what);
    }

    /// `work` units done.
    pub fn done(&self, work: u64) {
        self.bar.inc(work);
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
