//! Why a deploy failed: the diagnosis gathered from our stopped tasks, their
//! containers' last log lines and the load balancer's health, the hints made
//! from it (pure), where a container's logs go, and `hoist logs`.

pub(crate) mod diagnose;
pub(crate) mod hints;
pub(crate) mod logs;
pub(crate) mod tail;
