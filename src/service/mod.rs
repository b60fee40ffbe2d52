//! The `service` module (under construction).
