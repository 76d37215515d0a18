//! Label sets as types: stages, reasons, rows and freshness are enums whose label value is their
//! lower-case name, so no label value is ever built from a peer's text or allocated per
//! observation.

use std::fmt::{self, Write as _};

use prometheus_client::encoding::{
    EncodeLabel, EncodeLabelSet, EncodeLabelValue, LabelSetEncoder, LabelValueEncoder,
};

use crate::checklist::{Owner, Reason, RowStatus, Service, Stage};
use crate::probe::Freshness;

macro_rules! label_value {
    ($($t:ty),*) => {$(
        impl EncodeLabelValue for $t {
            fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), fmt::Error> {
                encoder.write_str(self.as_str())
            }
        }
    )*};
}
label_value!(Stage, Reason, Owner, Service, RowStatus, Freshness, Outcome);

/// A stage's port, or the empty value for stages without one (DNS, clock).
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub(crate) struct Port(pub(crate) Option<u16>);

impl EncodeLabelValue for Port {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), fmt::Error> {
        match self.0 {
            Some(p) => write!(encoder, "{p}"),
            None => Ok(()),
        }
    }
}

/// Success or failure of a probe run or a configuration load.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub(crate) enum Outcome {
    Success,
    Failure,
}

impl Outcome {
    pub(crate) fn of(success: bool) -> Self {
        if success {
            Outcome::Success
        } else {
            Outcome::Failure
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct ProbeLabels {
    pub(crate) target: String,
    pub(crate) result: Outcome,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct FailureLabels {
    pub(crate) target: String,
    pub(crate) stage: Stage,
    pub(crate) port: Port,
    pub(crate) reason: Reason,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct ResultLabels {
    pub(crate) result: Outcome,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct FreshnessLabels {
    pub(crate) freshness: Freshness,
}

/// A label set without its empty values: to Prometheus an empty label is no label, so sending it
/// only costs bytes (a healthy target's verdict has no stage, port or remedy).
pub(crate) struct Present<'a, const N: usize>(pub(crate) [(&'static str, &'a str); N]);

impl<const N: usize> EncodeLabelSet for Present<'_, N> {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> Result<(), fmt::Error> {
        for &(key, value) in &self.0 {
            if !value.is_empty() {
                (key, value).encode(encoder.encode_label())?;
            }
        }
        Ok(())
    }
}

/// A step's labels, borrowed: `target`, `stage` and, for stages that have one, `port` (an empty
/// label is no label to Prometheus, so it is left out rather than sent).
#[derive(Clone, Copy, Debug)]
pub(crate) struct StepOf<'a> {
    pub(crate) target: &'a str,
    pub(crate) stage: Stage,
    pub(crate) port: Port,
}

impl EncodeLabelSet for StepOf<'_> {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> Result<(), fmt::Error> {
        ("target", self.target).encode(encoder.encode_label())?;
        ("stage", self.stage).encode(encoder.encode_label())?;
        if self.port.0.is_some() {
            ("port", self.port).encode(encoder.encode_label())?;
        }
        Ok(())
    }
}

/// A step's labels and one more, borrowed (`reason`, `result`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct StepWith<'a, V> {
    pub(crate) step: StepOf<'a>,
    pub(crate) key: &'static str,
    pub(crate) value: V,
}

impl<V: EncodeLabelValue + Copy> EncodeLabelSet for StepWith<'_, V> {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> Result<(), fmt::Error> {
        self.step.encode(encoder)?;
        (self.key, self.value).encode(encoder.encode_label())
    }
}

/// Why a target or an FMC row stands as it does, borrowed: the stage, port and reason of its
/// verdict, the team that owns the fix, the remedy and the evidence (`stage`, `port`, `owner`,
/// `remedy` and `evidence` left out when healthy).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Why<'a> {
    pub(crate) target: &'a str,
    pub(crate) stage: Option<Stage>,
    pub(crate) port: Port,
    pub(crate) reason: Reason,
    pub(crate) remedy: &'a str,
    /// The one fact the failure rests on (empty when healthy).
    pub(crate) evidence: &'a str,
}

impl EncodeLabelSet for Why<'_> {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> Result<(), fmt::Error> {
        if !self.target.is_empty() {
            ("target", self.target).encode(encoder.encode_label())?;
        }
        if let Some(stage) = self.stage {
            ("stage", stage).encode(encoder.encode_label())?;
        }
        if self.port.0.is_some() {
            ("port", self.port).encode(encoder.encode_label())?;
        }
        ("reason", self.reason).encode(encoder.encode_label())?;
        if let Some(owner) = self.reason.owner() {
            ("owner", owner).encode(encoder.encode_label())?;
        }
        if !self.remedy.is_empty() {
            ("remedy", self.remedy).encode(encoder.encode_label())?;
        }
        if !self.evidence.is_empty() {
            ("evidence", self.evidence).encode(encoder.encode_label())?;
        }
        Ok(())
    }
}

/// A step's labels with its reason and the team that owns the fix of a failure.
#[derive(Clone, Copy, Debug)]
pub(crate) struct StepReason<'a> {
    pub(crate) step: StepOf<'a>,
    pub(crate) reason: Reason,
}

impl EncodeLabelSet for StepReason<'_> {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> Result<(), fmt::Error> {
        self.step.encode(encoder)?;
        ("reason", self.reason).encode(encoder.encode_label())?;
        if let Some(owner) = self.reason.owner() {
            ("owner", owner).encode(encoder.encode_label())?;
        }
        Ok(())
    }
}
