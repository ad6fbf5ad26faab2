//! The user's choice for a moving tag in a repository whose tags are
//! immutable (`[registry] immutable-tags`): a plain setting, carried by the
//! client options and acted on by the tag code.

use serde::{Deserialize, Serialize};

/// What to do with a moving tag in a repository whose tags are immutable.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ImmutableTags {
    /// Leave the tag where it is and say so in one warning line.
    #[default]
    Skip,
    /// Fail, with a hint.
    Fail,
}

impl std::str::FromStr for ImmutableTags {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "skip" => Ok(Self::Skip),
            "fail" => Ok(Self::Fail),
            _ => Err(format!("{text:?} is not skip or fail")),
        }
    }
}
