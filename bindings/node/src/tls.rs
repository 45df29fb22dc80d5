//! TLS glue (tls work).
