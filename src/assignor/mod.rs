//! The `assignor` module (under construction).
