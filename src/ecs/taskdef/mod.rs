//! The task definition: rendered into a registration (pure, unknown fields
//! passed through), read from files in any of its shapes, diffed for a dry
//! run, and hoist's tags on the revisions it registers.

pub(crate) mod diff;
pub(crate) mod render;
pub(crate) mod revision_tags;
pub(crate) mod task_file;
