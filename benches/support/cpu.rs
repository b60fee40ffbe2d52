//! CPU time of the calling thread, shared by the benches (`#[path]` module):
//! on a machine shared with other tenants the wall clock mostly measures
//! them. [`CpuTime`] is the criterion measurement on that clock.

use criterion::measurement::{Measurement, ValueFormatter};
use criterion::Throughput;

/// CPU time of the calling thread (`CLOCK_THREAD_CPUTIME_ID`), in ns.
#[cfg(target_os = "linux")]
pub fn thread_cpu_ns() -> u64 {
    clock_ns(3, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)")
}

/// The reading of clock `clock` (a `clockid_t`), in ns.
#[cfg(target_os = "linux")]
fn clock_ns(clock: i32, what: &str) -> u64 {
    #[repr(C)]
    struct Timespec {
        tv_sec: i64,
        tv_nsec: i64,
    }
    extern "C" {
        fn clock_gettime(clock: i32, tp: *mut Timespec) -> i32;
    }
    let mut ts = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec into the pointer we own.
    let rc = unsafe { clock_gettime(clock, &mut ts) };
    assert_eq!(rc, 0, "{what}");
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// CPU time of the whole process, all threads (`CLOCK_PROCESS_CPUTIME_ID`),
/// in ns: for work the code under test spreads over threads.
#[cfg(target_os = "linux")]
#[allow(dead_code)] // not every bench spreads work over threads
pub fn process_cpu_ns() -> u64 {
    clock_ns(2, "clock_gettime(CLOCK_PROCESS_CPUTIME_ID)")
}

/// Criterion measurement: thread CPU time.
#[allow(dead_code)] // not every bench that reads the clock times with criterion
pub struct CpuTime;

#[allow(dead_code)] // as `CpuTime`
struct NsFormatter;

impl ValueFormatter for NsFormatter {
    fn scale_values(&self, typical: f64, values: &mut [f64]) -> &'static str {
        let (factor, unit) = if typical < 1e3 {
            (1.0, "ns")
        } else if typical < 1e6 {
            (1e-3, "µs")
        } else if typical < 1e9 {
            (1e-6, "ms")
        } else {
            (1e-9, "s")
        };
        for v in values {
            *v *= factor;
        }
        unit
    }
    fn scale_throughputs(
        &self,
        _typical: f64,
        _t: &Throughput,
        values: &mut [f64],
    ) -> &'static str {
        for v in values {
            *v = 1e9 / *v;
        }
        "op/s"
    }
    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}

#[cfg(target_os = "linux")]
impl Measurement for CpuTime {
    type Intermediate = u64;
    type Value = u64;
    fn start(&self) -> u64 {
        thread_cpu_ns()
    }
    fn end(&self, start: u64) -> u64 {
        thread_cpu_ns().saturating_sub(start)
    }
    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }
    fn zero(&self) -> u64 {
        0
    }
    fn to_f64(&self, v: &u64) -> f64 {
        *v as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &NsFormatter
    }
}
