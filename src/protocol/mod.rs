//! The `protocol` module (under construction).
