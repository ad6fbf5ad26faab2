//! Small helpers shared by modules that otherwise have nothing in common.
//! Nothing here knows images, jars, registries or ECS.

pub(crate) mod fs;
