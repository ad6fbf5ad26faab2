//! Deploying to Amazon ECS: task-definition rendering (pure), rollout
//! judgement (pure), and the client that registers, updates and waits.
//!
//! Knows nothing of tar, layers or Java: it deploys an image reference it is
//! handed.

pub mod client;
pub mod deploy;
pub mod render;
pub mod rollout;
