//! The rollout: deploy and rollback (register, update, follow, roll back
//! while in charge), following our deployment to its end and judging each
//! view of it (pure), CodeDeploy deployments, releases of several services
//! with one-off tasks, where the time went (the timeline), old revisions
//! cleaned up, and `hoist status`.

pub(crate) mod codedeploy;
pub(crate) mod deploy;
pub(crate) mod follow;
pub(crate) mod judge;
pub(crate) mod release;
pub(crate) mod revisions;
pub(crate) mod status;
pub(crate) mod timeline;
