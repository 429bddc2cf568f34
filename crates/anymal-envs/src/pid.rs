//! A PID controller on an observation vector, the tutorial's baseline:
//! `a_k = Kp . e_k + Kd . (e_k - e_{k-1}) / dt + Ki . sum_i e_i dt`, with `e = target - obs`.

use crate::error::{EnvError, Result};

/// PID (or, with `ki = kd = 0`, linear state-feedback) control of one actuator.
#[derive(Debug, Clone)]
pub struct Pid {
    /// Proportional gains, one per observation entry.
    pub kp: Vec<f64>,
    /// Integral gains.
    pub ki: Vec<f64>,
    /// Derivative gains.
    pub kd: Vec<f64>,
    /// The observation to hold (zeros by default).
    pub target: Vec<f64>,
    dt: f64,
    integral: Vec<f64>,
    previous_error: Option<Vec<f64>>,
}

impl Pid {
    /// A PID controller for observations of `kp.len()` entries, stepped every `dt > 0`
    /// seconds; gains of different lengths, non-finite gains or a bad `dt` are errors.
    pub fn new(kp: Vec<f64>, ki: Vec<f64>, kd: Vec<f64>, dt: f64) -> Result<Self> {
        if kp.len() != ki.len() || kp.len() != kd.len() {
            return Err(EnvError::Parameter(format!(
                "PID gains of different lengths: kp {}, ki {}, kd {}",
                kp.len(),
                ki.len(),
                kd.len()
            )));
        }
        if let Some((name, gain)) = [("kp", &kp), ("ki", &ki), ("kd", &kd)]
            .into_iter()
            .find(|(_, gains)| gains.iter().any(|g| !g.is_finite()))
        {
            return Err(EnvError::Parameter(format!(
                "PID gain {name} {gain:?} is not finite"
            )));
        }
        if !(dt > 0.0 && dt.is_finite()) {
            return Err(EnvError::Parameter(format!(
                "PID time step dt = {dt} must be positive and finite"
            )));
        }
        let n = kp.len();
        Ok(Self {
            kp,
            ki,
            kd,
            target: vec![0.0; n],
            dt,
            integral: vec![0.0; n],
            previous_error: None,
        })
    }

    /// Linear state feedback `a = Kp . (target - obs)`.
    pub fn linear(kp: Vec<f64>) -> Result<Self> {
        let n = kp.len();
        Self::new(kp, vec![0.0; n], vec![0.0; n], 1.0)
    }

    /// Clears the integral and derivative memory (call at every reset).
    pub fn reset(&mut self) {
        self.integral.fill(0.0);
        self.previous_error = None;
    }

    /// The action for observation `obs`.
    ///
    /// # Panics
    /// If `obs` does not have one entry per gain.
    pub fn act(&mut self, obs: &[f64]) -> f64 {
        assert_eq!(
            obs.len(),
            self.kp.len(),
            "PID: observation of {} entries, gains of {}",
            obs.len(),
            self.kp.len()
        );
        let error: Vec<f64> = self.target.iter().zip(obs).map(|(t, o)| t - o).collect();
        let previous = self.previous_error.as_ref().unwrap_or(&error);
        let mut action = 0.0;
        for i in 0..error.len() {
            self.integral[i] += error[i] * self.dt;
            let derivative = (error[i] - previous[i]) / self.dt;
            action +=
                self.kp[i] * error[i] + self.ki[i] * self.integral[i] + self.kd[i] * derivative;
        }
        self.previous_error = Some(error);
        action
    }
}
