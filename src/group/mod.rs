//! The `group` module (under construction).
