//! An OCI distribution client on reqwest: references, authentication,
//! blobs, manifests, pulling a base and pushing an image.
//!
//! It knows nothing of Java or of how images are built: it moves blobs and
//! manifests it is handed, checking every digest on the way.

pub(crate) mod auth;
pub(crate) mod blobs;
pub(crate) mod ecr;
pub(crate) mod hosts;
pub(crate) mod lifecycle;
pub(crate) mod manifests;
pub(crate) mod options;
pub(crate) mod pool;
pub(crate) mod pull;
pub(crate) mod push;
pub(crate) mod reference;
pub mod referrers;
pub(crate) mod retry;
pub(crate) mod stream;
pub(crate) mod tag_policy;
pub(crate) mod tags;
pub(crate) mod transport;

pub use reference::ImageReference;

pub use push::{BlobOutcome, PushProgress};
pub use retry::RetryPolicy;
pub use tags::ImmutableTags;
pub use transport::ClientOptions;
