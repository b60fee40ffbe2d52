//! The `topology` module (under construction).
