//! UDP glue (datagram work).
