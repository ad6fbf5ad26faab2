//! An OCI distribution client on reqwest: references, authentication,
//! blobs, manifests, pulling a base and pushing an image.
//!
//! It knows nothing of Java or of how images are built: it moves blobs and
//! manifests it is handed, checking every digest on the way.

pub mod auth;
pub mod blobs;
pub mod ecr;
pub mod manifests;
pub mod pool;
pub mod pull;
pub mod push;
pub mod reference;
pub mod retry;
pub mod transport;

pub use reference::ImageReference;
