//! The `protocol` module (under construction).

pub mod api_versions;
