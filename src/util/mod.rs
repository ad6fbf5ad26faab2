//! Small helpers shared by modules that otherwise have nothing in common:
//! atomic writes and full disks ([`fs`]), file locks ([`lock`]), temporary
//! files and their cleanup on interrupt ([`temp`]). Nothing here knows
//! images, jars, registries or ECS.

pub(crate) mod fs;
pub(crate) mod lock;
pub(crate) mod temp;
